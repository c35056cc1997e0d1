// `npm run seed`: migrate, then create the demo organization and owner if the database has none.
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { loadConfigOrExit, processEnv } from './config/load-config';
import { DemoSeeder } from './modules/auth/demo-seeder';

async function seed(): Promise<void> {
  const config = loadConfigOrExit({ ...processEnv(), SEED_DEMO: 'false', DB_MIGRATE_ON_START: 'true' });
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  await app.init();
  const result = await app.get(DemoSeeder).seedIfEmpty();
  process.stdout.write(result ? `seeded: ${result.email}\n` : 'organizations exist already; nothing seeded\n');
  await app.close();
}

void seed();
