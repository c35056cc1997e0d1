import { applyDecorators, SetMetadata, UseInterceptors } from '@nestjs/common';
import { AuditInterceptor } from './audit.interceptor';
import { AUDITED, AUDITED_IN_SERVICE, type AuditedOptions } from './audit.metadata';

export { AUDITED, AUDITED_IN_SERVICE, type AuditedOptions } from './audit.metadata';

/**
 * A mutating route whose success is recorded by AuditInterceptor, after the handler's result is produced
 * and before the response goes out. Route-scoped on purpose: the interceptor costs only where it is used.
 */
export function Audited(options: AuditedOptions): MethodDecorator {
  return applyDecorators(SetMetadata(AUDITED, options), UseInterceptors(AuditInterceptor));
}

/**
 * A mutating route whose service records its own audit entries (in the change's transaction, or as auth
 * events): the route table check accepts it without @Audited. `how` says where, for the reader.
 */
export function AuditedInService(how: string): MethodDecorator & ClassDecorator {
  return SetMetadata(AUDITED_IN_SERVICE, how);
}
