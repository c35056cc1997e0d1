import { Module, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import { pino, type LoggerOptions } from 'pino';
import { AppConfig } from '../../config/app.config';
import { currentContext } from '../context/request-context';
import { ecsFormat } from '@elastic/ecs-pino-format';

/** Anything that can carry a credential, wherever it appears in a log object. */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  ...[
    'password',
    'currentPassword',
    'newPassword',
    'token',
    'accessToken',
    'refreshToken',
    'mfaToken',
    'secret',
    'recoveryCodes',
  ].flatMap((key) => [key, `*.${key}`, `*.*.${key}`, `*.*.*.${key}`]),
  // One-time codes travel as `code` in request bodies; `err.code` (ECONNREFUSED, 23505) stays readable.
  'code',
  'body.code',
  '*.body.code',
  'payload.code',
];

function baseOptions(config: AppConfig, kind: 'api' | 'worker'): LoggerOptions {
  const options: LoggerOptions = {
    level: config.log.level,
    base: { service: `atrium-${kind}` },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  };
  if (config.log.format === 'ecs') return { ...options, ...ecsFormat() };
  if (config.log.format === 'pretty') {
    return {
      ...options,
      transport: { target: 'pino-pretty', options: { singleLine: true, translateTime: 'SYS:HH:MM:ss.l' } },
    };
  }
  return options;
}

/**
 * Fields of the unit of work a line is written in (request id and user; job id and queue in the worker),
 * read when a line is written. The API used to bind them with child loggers made for every request
 * (pino-http), which applied the redaction paths to each binding even when nothing was logged; a mixin
 * costs nothing until a line is actually written, and then REDACTED_PATHS apply to the whole line.
 */
export function contextFields(): Record<string, string> {
  const context = currentContext();
  if (!context) return {};
  const fields: Record<string, string> = { requestId: context.requestId };
  if (context.userId) fields.userId = context.userId;
  if (context.jobId) fields.jobId = context.jobId;
  if (context.queue) fields.queue = context.queue;
  return fields;
}

@Module({})
export class LoggingModule {
  /**
   * API: the root logger only. No per-request middleware: the access line (request id, method, route,
   * status, latency) is written by a Fastify hook (access-log.ts), and other lines get the request id and
   * user from the request context.
   */
  static forApi(): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            forRoutes: [],
            pinoHttp: {
              ...baseOptions(config, 'api'),
              mixin: contextFields,
              // Plain serializers: pino-http would otherwise wrap them in the full request/response ones.
              wrapSerializers: false,
              serializers: {
                req: (req: { method?: unknown; url?: unknown }) => ({
                  method: req.method,
                  url: typeof req.url === 'string' ? req.url.split('?')[0] : req.url,
                }),
                res: (res: { statusCode?: unknown }) => ({ statusCode: res.statusCode }),
                err: pino.stdSerializers.err,
              },
            },
          }),
        }),
      ],
    };
  }

  /** Worker: no HTTP; every line written while a job runs carries its request id, job id and queue. */
  static forWorker(): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            pinoHttp: {
              ...baseOptions(config, 'worker'),
              mixin: contextFields,
            },
          }),
        }),
      ],
    };
  }
}
