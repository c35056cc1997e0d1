import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { ClientInfo as ClientInfoValue } from './sessions/session.service';

/** The caller's IP (as Fastify resolved it under TRUST_PROXY) and user agent, for sessions and events. */
export const ClientInfo = createParamDecorator((_data: unknown, context: ExecutionContext): ClientInfoValue => {
  const request = context.switchToHttp().getRequest<FastifyRequest>();
  const userAgent = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof userAgent === 'string' ? userAgent : null };
});
