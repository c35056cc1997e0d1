import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';

/** Set by the JWT guard (modules/auth); core only reads the id. */
type RequestWithUser = FastifyRequest & { user?: { id?: string } };

/**
 * One JSON access line per request, written when the response is done: request id, user, method, path
 * (no query string), route template, status and latency; 5xx at error, 4xx at warn, the rest at info; a
 * request the client abandoned gets an info line without status. A Fastify hook instead of pino-http:
 * nothing is allocated for a request whose line the level filters out (LOG_LEVEL=warn writes only
 * failures), where pino-http built three child loggers per request.
 */
export function registerAccessLog(fastify: FastifyInstance, logger: () => Logger | undefined): void {
  const write = (request: RequestWithUser, status: number | undefined, latencyMs: number): void => {
    const log = logger();
    const level = status === undefined || status < 400 ? 'info' : status < 500 ? 'warn' : 'error';
    if (!log?.isLevelEnabled(level)) return;
    const url = request.raw.url ?? '';
    const query = url.indexOf('?');
    log[level](
      {
        requestId: request.id,
        userId: request.user?.id,
        req: { method: request.method, url: query === -1 ? url : url.slice(0, query) },
        route: request.routeOptions.url,
        res: status === undefined ? undefined : { statusCode: status },
        responseTime: Math.round(latencyMs),
      },
      status === undefined ? 'request aborted' : status >= 500 ? 'request errored' : 'request completed',
    );
  };
  fastify.addHook('onResponse', (request, reply, done) => {
    write(request, reply.statusCode, reply.elapsedTime);
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    write(request, undefined, 0);
    done();
  });
}
