import type { ArgumentsHost } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * The Fastify request of an HTTP execution context. Same as `context.switchToHttp().getRequest()`, which
 * Nest implements by assigning three new closures onto the context object on every call; the global guards
 * asked for the request four times per request. For the per-request path (DESIGN.md §4).
 */
export function requestOf<T extends FastifyRequest = FastifyRequest>(context: ArgumentsHost): T {
  return context.getArgByIndex<T>(0);
}

/** The Fastify reply of an HTTP execution context (see requestOf). */
export function replyOf(context: ArgumentsHost): FastifyReply {
  return context.getArgByIndex<FastifyReply>(1);
}
