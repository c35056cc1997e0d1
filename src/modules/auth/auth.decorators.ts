import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { AuthUser } from './auth-user';

export const ALLOW_PENDING_TWO_FACTOR_SETUP = 'atrium:allow-pending-2fa-setup';

/**
 * Routes a member may use while their organization requires 2FA and they have not set it up yet
 * (setting it up, reading who they are, logging out).
 */
export const AllowPendingTwoFactorSetup = (): MethodDecorator & ClassDecorator =>
  SetMetadata(ALLOW_PENDING_TWO_FACTOR_SETUP, true);

/** The authenticated caller (set by the JWT guard). */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  const user = context.switchToHttp().getRequest<FastifyRequest>().user;
  if (!user) throw new Error('@CurrentUser() used on a public route');
  return user;
});
