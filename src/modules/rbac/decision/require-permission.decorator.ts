import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiForbiddenResponse } from '@nestjs/swagger';
import type { PermissionKey } from '../permission';

export const REQUIRED_PERMISSION = 'atrium:required-permission';
export const AUTHENTICATED_ONLY = 'atrium:authenticated-only';

export const REQUIRED_PERMISSION_SCOPE = 'atrium:required-permission-scope';

/**
 * `anywhere` (default): the caller holds the permission at some scope, and the service checks the
 * resource's own department. `organization`: only an organization-wide grant admits, for routes on
 * organization-level resources that no department owns (the organization itself, its audit trail), where no
 * service-level department check follows.
 */
export type RequiredPermissionScope = 'anywhere' | 'organization';

/**
 * The route needs this permission (somewhere: the global guard checks the caller holds it at some scope;
 * services check the resource's own department with PermissionService), or organization-wide with
 * `{ scope: 'organization' }`. Also documents it in OpenAPI.
 */
export function RequirePermission(
  permission: PermissionKey,
  options: { scope?: RequiredPermissionScope } = {},
): MethodDecorator & ClassDecorator {
  const scope = options.scope ?? 'anywhere';
  const where = scope === 'organization' ? ' organization-wide' : '';
  return applyDecorators(
    SetMetadata(REQUIRED_PERMISSION, permission),
    SetMetadata(REQUIRED_PERMISSION_SCOPE, scope),
    ApiBearerAuth('bearer'),
    ApiExtension('x-required-permission', permission),
    ...(scope === 'organization' ? [ApiExtension('x-required-permission-scope', scope)] : []),
    ApiForbiddenResponse({
      description: `Needs the permission ${permission}${where}`,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDocumentDto' } } },
    }),
  );
}

/** Any signed-in user may call it (self-service routes: your profile, your sessions, your 2FA). */
export function AuthenticatedOnly(): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(AUTHENTICATED_ONLY, true), ApiBearerAuth('bearer'));
}
