import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApiApp } from '../../src/api-app';
import { AppConfig } from '../../src/config/app.config';
import type { RawEnv } from '../../src/config/env-var';
import { createWorkerApp } from '../../src/worker-app';

/** This run's configuration (database and Redis prefix from global-setup) plus per-test overrides. */
export function testConfig(overrides: RawEnv = {}): AppConfig {
  return AppConfig.fromEnv({ ...process.env, ...overrides });
}

/** The API exactly as main.ts builds it, initialised but not listening: drive it with `app.inject`. */
export async function createTestApp(overrides: RawEnv = {}): Promise<NestFastifyApplication> {
  const app = await createApiApp(testConfig(overrides));
  await app.init();
  await app.getHttpAdapter().getInstance().ready();
  return app;
}

/** The worker application context, separate from any API app in the same test. */
export async function createTestWorker(overrides: RawEnv = {}): Promise<INestApplicationContext> {
  const worker = await createWorkerApp(testConfig(overrides));
  await worker.init();
  return worker;
}
