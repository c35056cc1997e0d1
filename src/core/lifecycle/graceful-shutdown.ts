import type { INestApplication, INestApplicationContext, LoggerService } from '@nestjs/common';
import type { Server } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AppConfig } from '../../config/app.config';
import { ShutdownState } from './shutdown-state';

/**
 * On SIGTERM/SIGINT: report not-ready, wait SHUTDOWN_READINESS_DELAY_MS, then close the app (the HTTP
 * server finishes in-flight requests, BullMQ workers finish active jobs, pools close). If that takes
 * longer than SHUTDOWN_TIMEOUT_MS the process exits anyway, with code 1.
 */
function isHttpApp(app: INestApplicationContext): app is INestApplication<Server> {
  return typeof (app as Partial<INestApplication>).getHttpServer === 'function';
}

export function installGracefulShutdown(app: INestApplicationContext, config: AppConfig, logger: LoggerService): void {
  let closing = false;
  const shutdown = async (signal: string): Promise<void> => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received: draining`, 'Shutdown');
    const force = setTimeout(() => {
      logger.error(`graceful shutdown exceeded ${config.shutdown.timeoutMs} ms; exiting`, undefined, 'Shutdown');
      process.exit(1);
    }, config.shutdown.timeoutMs);
    force.unref();
    app.get(ShutdownState, { strict: false }).startDraining();
    // Keep-alive connections busy now would otherwise stay open (and hold close()) until their idle
    // timeout; this makes each one close right after its in-flight response.
    if (isHttpApp(app)) app.getHttpServer().keepAliveTimeout = 1;
    await sleep(config.shutdown.readinessDelayMs);
    await app.close();
    logger.log('shutdown complete', 'Shutdown');
    clearTimeout(force);
    process.exit(0);
  };
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => void shutdown(signal));
  }
}
