import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { requestOf } from '../../../core/http/http-context';
import { IS_PUBLIC } from '../../../core/http/public.decorator';
import type { AuthUser } from '../../auth/auth-user';
import { CallerLookups, type Caller, type LookupCall } from '../../../core/redis/caller-lookups';
import { AuditService } from '../../audit/audit.service';
import { RbacException, RbacExceptionCode } from '../rbac.exception';
import { decide, holdsAnywhere } from './grant';
import { GRANTS_READ_PART, GrantStore } from './grant.store';
import {
  REQUIRED_PERMISSION,
  REQUIRED_PERMISSION_SCOPE,
  type RequiredPermissionScope,
} from './require-permission.decorator';

/** The grants read of one caller, in the JWT guard's script. */
type GrantsCall = LookupCall & { caller: Caller };

interface Requirement {
  permission: string;
  /** Only an organization-wide grant admits (organization-level resources; no service check follows). */
  organizationWide: boolean;
}

/**
 * The one permission guard, after the JWT guard. A route with @RequirePermission(p) is open to callers who
 * hold p at some scope; whether that scope covers the resource is checked by the service that loads it
 * (PermissionService.assertAllowed) and lists are filtered by readableDepartments. A route with
 * @RequirePermission(p, { scope: 'organization' }) needs p organization-wide: a department grant never
 * covers an organization-level resource.
 */
@Injectable()
export class PermissionGuard implements CanActivate {
  private readonly required = new WeakMap<object, Requirement | null>();

  constructor(
    private readonly reflector: Reflector,
    private readonly grants: GrantStore,
    private readonly audit: AuditService,
    lookups: CallerLookups,
  ) {
    // Routes that require a permission read the caller's grants: in the JWT guard's script, with the session.
    lookups.register<GrantsCall>({
      part: GRANTS_READ_PART,
      plan: (caller, context) =>
        context.getType() === 'http' && this.requirement(context)
          ? { ...this.grants.lookupCall(caller.organizationId, caller.userId), caller }
          : null,
      started: (reply, call) => this.grants.adoptRead(call.caller.organizationId, call.caller.userId, reply),
    });
  }

  // Not async: Nest goes on without awaiting a plain boolean (a route that requires no permission).
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const requirement = this.requirement(context);
    if (!requirement) return true;
    const request = requestOf(context);
    const user = request.user;
    if (!user) return true; // public route: the JWT guard let it through
    return this.check(request, user, requirement);
  }

  private async check(
    request: FastifyRequest,
    user: AuthUser,
    { permission, organizationWide }: Requirement,
  ): Promise<boolean> {
    const grants = await this.grants.grantsOf(user.organizationId, user.id);
    // With no target department, decide() counts organization-wide grants only.
    if (organizationWide ? decide(grants, permission, null).allowed : holdsAnywhere(grants, permission)) return true;
    await this.audit.recordDenied(user, permission, {
      route: `${request.method} ${request.routeOptions.url ?? ''}`,
      ...(organizationWide ? { scope: 'organization' } : {}),
    });
    const where = organizationWide ? ' organization-wide' : '';
    throw new RbacException(RbacExceptionCode.PermissionDenied, `This needs the permission ${permission}${where}.`, {
      permission,
    });
  }

  private requirement(context: ExecutionContext): Requirement | null {
    const handler = context.getHandler();
    let requirement = this.required.get(handler);
    if (requirement === undefined) {
      const targets = [handler, context.getClass()];
      const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false;
      const permission = isPublic ? null : this.reflector.getAllAndOverride<string>(REQUIRED_PERMISSION, targets);
      const scope = this.reflector.getAllAndOverride<RequiredPermissionScope>(REQUIRED_PERMISSION_SCOPE, targets);
      requirement = permission ? { permission, organizationWide: scope === 'organization' } : null;
      this.required.set(handler, requirement);
    }
    return requirement;
  }
}
