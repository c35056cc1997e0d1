import cors from '@fastify/cors';
import multipart from '@fastify/multipart';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { PinoLogger } from 'nestjs-pino';
import type { AppConfig } from '../../config/app.config';
import { runWithContext } from '../context/request-context';
import { registerAccessLog } from '../logging/access-log';
import type { MetricsService } from '../metrics/metrics.service';
import { sendProblem } from './problem';
import { limitJsonDepth } from './json-depth';
import { REQUEST_ID_HEADER } from './request-id';
import { securityHeaders } from './security-headers';
import type { AtriumRouteConfig } from './request-timeout';

declare module 'fastify' {
  interface FastifyRequest {
    timeoutTimer: NodeJS.Timeout | null;
  }
}

/**
 * Work every request needs runs as Fastify hooks (security headers, request id, context, timeout, access log,
 * metrics), not as Nest interceptors or middleware: a global interceptor costs a third of the throughput of a
 * trivial route.
 */
export async function configureHttpPipeline(
  app: NestFastifyApplication,
  config: AppConfig,
  metrics: MetricsService | undefined,
): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();

  const headers = securityHeaders();
  if (config.http.corsOrigins.length) {
    await app.register(cors, {
      origin: config.http.corsOrigins.includes('*') ? true : config.http.corsOrigins,
      credentials: !config.http.corsOrigins.includes('*'),
      exposedHeaders: ['X-Request-Id', 'ETag', 'Location', 'Retry-After', 'RateLimit', 'RateLimit-Policy'],
      maxAge: 600,
    });
  }

  // CSV uploads (POST /customers/import) arrive as text/csv, as a string, with a size limit of their own
  // (CUSTOMER_IMPORT_MAX_BYTES; over it Fastify answers 413 before anything is buffered past the limit).
  fastify.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: config.customers.importMaxBytes },
    (_request, body, done) => done(null, body),
  );
  // JSON bodies nested deeper than MAX_JSON_DEPTH are a 400 before validation walks them (stack overflow).
  limitJsonDepth(app);
  // Media uploads (POST /media) stream their one file part; nothing is buffered or written to temp files
  // here. The per-type caps are enforced while streaming; this is only the outer bound.
  await app.register(multipart, {
    limits: {
      files: 1,
      fields: 32,
      fieldSize: 8 * 1024,
      parts: 40,
      headerPairs: 100,
      fileSize: Math.max(...Object.values(config.media.maxBytes)) + 1,
    },
  });
  fastify.decorateRequest('timeoutTimer', null);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.headers(headers).header(REQUEST_ID_HEADER, request.id);
    const timeoutMs =
      (request.routeOptions.config as AtriumRouteConfig | undefined)?.timeoutMs ?? config.http.timeoutMs;
    request.timeoutTimer = setTimeout(() => {
      sendProblem(
        { request, reply },
        { status: 503, code: 'request-timeout', detail: `The request did not complete within ${timeoutMs} ms.` },
      );
    }, timeoutMs);
    const userAgent = request.headers['user-agent'];
    runWithContext(
      {
        requestId: String(request.id),
        ip: request.ip,
        userAgent: typeof userAgent === 'string' ? userAgent : undefined,
      },
      done,
    );
  });
  fastify.addHook('onResponse', (request, reply, done) => {
    if (request.timeoutTimer) clearTimeout(request.timeoutTimer);
    metrics?.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });
  fastify.addHook('onRequestAbort', (request, done) => {
    if (request.timeoutTimer) clearTimeout(request.timeoutTimer);
    done();
  });
  registerAccessLog(fastify, () => PinoLogger.root);
}
