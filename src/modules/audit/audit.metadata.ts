export const AUDITED = 'atrium:audited';
export const AUDITED_IN_SERVICE = 'atrium:audited-in-service';

export interface AuditedOptions {
  /** `<resource>.<verb>`, e.g. customers.update. */
  action: string;
  resourceType: string;
  /** The route parameter holding the resource id; without it, the `id` of the handler's result. */
  resourceIdParam?: string;
}
