/**
 * Permissions are `service:action`. A grant may use wildcards: `customers:*` (every action of a service),
 * `*:read` (one action on every service) and `*:*` (everything).
 */
export const SERVICES = [
  'users',
  'customers',
  'posts',
  'media',
  'audit',
  'roles',
  'departments',
  'organizations',
  'system',
] as const;
export type Service = (typeof SERVICES)[number];

export type PermissionKey = `${Service}:${string}`;

const PATTERN = /^([a-z]+|\*):([a-z]+|\*)$/;

export function isPermissionPattern(value: string): boolean {
  return PATTERN.test(value);
}

/** Whether a granted pattern covers a required permission. */
export function patternCovers(pattern: string, permission: string): boolean {
  if (pattern === permission || pattern === '*:*') return true;
  const [patternService, patternAction] = pattern.split(':');
  const [service, action] = permission.split(':');
  return (patternService === '*' || patternService === service) && (patternAction === '*' || patternAction === action);
}

/** Whether pattern `held` covers everything pattern `wanted` would grant (for escalation checks). */
export function patternIncludes(held: string, wanted: string): boolean {
  const [heldService, heldAction] = held.split(':');
  const [wantedService, wantedAction] = wanted.split(':');
  return (heldService === '*' || heldService === wantedService) && (heldAction === '*' || heldAction === wantedAction);
}
