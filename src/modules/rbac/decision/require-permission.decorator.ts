import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiExtension, ApiForbiddenResponse } from '@nestjs/swagger';
import type { PermissionKey } from '../permission';

export const REQUIRED_PERMISSION = 'atrium:required-permission';
export const AUTHENTICATED_ONLY = 'atrium:authenticated-only';

/**
 * The route needs this permission (somewhere: the global guard checks the caller holds it at some scope;
 * services check the resource's own department with PermissionService). Also documents it in OpenAPI.
 */
export function RequirePermission(permission: PermissionKey): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_PERMISSION, permission),
    ApiBearerAuth('bearer'),
    ApiExtension('x-required-permission', permission),
    ApiForbiddenResponse({
      description: `Needs the permission ${permission}`,
      content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDocumentDto' } } },
    }),
  );
}

/** Any signed-in user may call it (self-service routes: your profile, your sessions, your 2FA). */
export function AuthenticatedOnly(): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(AUTHENTICATED_ONLY, true), ApiBearerAuth('bearer'));
}
