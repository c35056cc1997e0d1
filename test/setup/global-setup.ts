import { Logger } from '@nestjs/common';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  // One RS256 key for the whole run: generating a 3072-bit key per app would dominate test time.
  const keyDir = mkdtempSync(join(tmpdir(), 'atrium-test-keys-'));
  const keyFile = join(keyDir, 'jwt.pem');
  writeFileSync(
    keyFile,
    generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ format: 'pem', type: 'pkcs8' }),
  );

  Object.assign(process.env, {
    JWT_PRIVATE_KEY_FILE: keyFile,
    TEST_KEY_DIR: keyDir,
    // bcrypt's cost only changes the time per hash; tests that measure behaviour need not pay cost 12.
    BCRYPT_COST: '4',
    // Every test app shares 127.0.0.1; specs that test rate limits set their own low limits.
    RATE_LIMIT_AUTH_MAX: '100000',
    RATE_LIMIT_MAX: '100000',
    MAIL_OUTBOX_DIR: join(keyDir, 'outbox'),
    STORAGE_LOCAL_DIR: join(keyDir, 'storage'),
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
