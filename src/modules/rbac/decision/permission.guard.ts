import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { IS_PUBLIC } from '../../../core/http/public.decorator';
import { AuditService } from '../../audit/audit.service';
import { RbacException, RbacExceptionCode } from '../rbac.exception';
import { holdsAnywhere } from './grant';
import { GrantStore } from './grant.store';
import { REQUIRED_PERMISSION } from './require-permission.decorator';

/**
 * The one permission guard, after the JWT guard. A route with @RequirePermission(p) is open to callers who
 * hold p at some scope; whether that scope covers the resource is checked by the service that loads it
 * (PermissionService.assertAllowed) and lists are filtered by readableDepartments.
 */
@Injectable()
export class PermissionGuard implements CanActivate {
  private readonly required = new WeakMap<object, string | null>();

  constructor(
    private readonly reflector: Reflector,
    private readonly grants: GrantStore,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const permission = this.requiredPermission(context);
    if (!permission) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const user = request.user;
    if (!user) return true; // public route: the JWT guard let it through
    if (holdsAnywhere(await this.grants.grantsOf(user.organizationId, user.id), permission)) return true;
    await this.audit.recordDenied(user, permission, { route: `${request.method} ${request.routeOptions.url ?? ''}` });
    throw new RbacException(RbacExceptionCode.PermissionDenied, `This needs the permission ${permission}.`, {
      permission,
    });
  }

  private requiredPermission(context: ExecutionContext): string | null {
    const handler = context.getHandler();
    let permission = this.required.get(handler);
    if (permission === undefined) {
      const targets = [handler, context.getClass()];
      const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false;
      permission = isPublic ? null : (this.reflector.getAllAndOverride<string>(REQUIRED_PERMISSION, targets) ?? null);
      this.required.set(handler, permission);
    }
    return permission;
  }
}
