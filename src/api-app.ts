import { RequestMethod, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { AppConfig } from './config/app.config';
import { sendFrameworkError } from './core/http/framework-errors';
import { configureHttpPipeline } from './core/http/http-pipeline';
import { setupOpenApi } from './core/http/openapi';
import { ProblemFilter } from './core/http/problem.filter';
import { requestIdFor } from './core/http/request-id';
import { createValidationPipe } from './core/http/validation.pipe';
import { MetricsService } from './core/metrics/metrics.service';
import { mountQueueDashboard } from './modules/system/queue-dashboard';

export const API_PREFIX = 'api/v1';

/** Builds the API exactly as production runs it; tests use the same function (and Fastify inject). */
export async function createApiApp(
  config: AppConfig,
  options: { bufferLogs?: boolean; extraModules?: Type[] } = {},
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    bodyLimit: config.http.bodyLimit,
    trustProxy: config.http.trustProxy,
    genReqId: requestIdFor,
    requestIdHeader: false,
    frameworkErrors: sendFrameworkError,
    // Fastify's own request logging is replaced by pino-http (one access line per request).
    logger: false,
  });
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, options.extraModules),
    adapter,
    {
      bufferLogs: options.bufferLogs ?? true,
    },
  );
  app.useLogger(app.get(Logger));
  app.setGlobalPrefix(API_PREFIX, {
    exclude: [
      { path: 'health/{*path}', method: RequestMethod.ALL },
      { path: 'metrics', method: RequestMethod.ALL },
      { path: '.well-known/{*path}', method: RequestMethod.ALL },
    ],
  });
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ProblemFilter());
  await configureHttpPipeline(app, config, config.http.metricsEnabled ? app.get(MetricsService) : undefined);
  if (config.http.docsEnabled) setupOpenApi(app);
  if (config.http.queueDashboardEnabled) await mountQueueDashboard(app);
  return app;
}
