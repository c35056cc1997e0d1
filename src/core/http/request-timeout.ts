import { RouteConfig } from '@nestjs/platform-fastify';

export interface AtriumRouteConfig {
  /** Overrides HTTP_TIMEOUT_MS for one route. */
  timeoutMs?: number;
}

/**
 * Per-route override of the request timeout (HTTP_TIMEOUT_MS). The timeout itself is a Fastify hook, not
 * an interceptor, so routes that keep the default pay nothing per request (DESIGN.md §4).
 */
export const RequestTimeout = (timeoutMs: number): MethodDecorator =>
  RouteConfig({ timeoutMs } satisfies AtriumRouteConfig);
