import { Module, RequestMethod, type DynamicModule } from '@nestjs/common';
import { LoggerModule } from 'nestjs-pino';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { LoggerOptions } from 'pino';
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

@Module({})
export class LoggingModule {
  /** API: pino-http writes one access line per request (request id, method, route, status, latency). */
  static forApi(): DynamicModule {
    return {
      module: LoggingModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [AppConfig],
          useFactory: (config: AppConfig) => ({
            // A wildcard Nest recognises: it also covers paths excluded from the global prefix, exactly once.
            forRoutes: [{ path: '{*splat}', method: RequestMethod.ALL }],
            assignResponse: true,
            pinoHttp: {
              ...baseOptions(config, 'api'),
              // Service log lines carry only the request id; the access line adds method, url, route, status.
              quietReqLogger: true,
              customAttributeKeys: { reqId: 'requestId' },
              customProps: (req: IncomingMessage) => ({ route: req.routeUrl }),
              customLogLevel: (_req: IncomingMessage, res: ServerResponse, err?: Error) =>
                err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
              serializers: {
                req: (req: { method: string; url: string }) => ({ method: req.method, url: req.url.split('?')[0] }),
                res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
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
              mixin: () => {
                const context = currentContext();
                return context ? { requestId: context.requestId, jobId: context.jobId, queue: context.queue } : {};
              },
            },
          }),
        }),
      ],
    };
  }
}
