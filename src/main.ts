// First: sets libuv's thread pool size before anything can start the pool.
import './config/uv-threadpool';
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { createApiApp } from './api-app';
import { loadConfigOrExit } from './config/load-config';
import { installGracefulShutdown } from './core/lifecycle/graceful-shutdown';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createApiApp(config);
  const logger = app.get(Logger);
  installGracefulShutdown(app, config, logger);
  await app.listen({ port: config.http.port, host: config.http.host });
  logger.log(`API listening on ${await app.getUrl()} (docs at /docs)`, 'Bootstrap');
}

void bootstrap();
