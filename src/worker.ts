// First: sets libuv's thread pool size before anything can start the pool.
import './config/uv-threadpool';
import 'reflect-metadata';
import { Logger } from 'nestjs-pino';
import { loadConfigOrExit } from './config/load-config';
import { installGracefulShutdown } from './core/lifecycle/graceful-shutdown';
import { createWorkerApp } from './worker-app';

async function bootstrap(): Promise<void> {
  const config = loadConfigOrExit();
  const app = await createWorkerApp(config);
  const logger = app.get(Logger);
  installGracefulShutdown(app, config, logger);
  await app.init();
  logger.log('worker started', 'Bootstrap');
}

void bootstrap();
