import { Logger } from '@nestjs/common';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../src/config/app.config';
import { dataSourceOptions } from '../../src/core/database/data-source.options';
import { ADMIN_DATABASE_URL, databaseUrlFor, newRunId } from './test-env';

/**
 * Runs once per `npm test`: a fresh database (created and migrated here, dropped in global-teardown) and a
 * Redis key prefix of this run's own, so concurrent runs never see each other's data.
 */
export default async function globalSetup(): Promise<void> {
  const runId = newRunId();
  const database = `atrium_test_${runId}`;
  const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();

  Object.assign(process.env, {
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrlFor(database),
    REDIS_KEY_PREFIX: `atrium-test-${runId}:`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DB_MIGRATE_ON_START: 'false',
    TEST_RUN_ID: runId,
    TEST_DATABASE: database,
  });

  // Migration chatter would drown the test report; failures still throw.
  Logger.overrideLogger(false);
  const dataSource = new DataSource(dataSourceOptions(AppConfig.fromEnv(process.env), 'atrium-test-setup'));
  await dataSource.initialize();
  await dataSource.runMigrations({ transaction: 'each' });
  await dataSource.destroy();
}
