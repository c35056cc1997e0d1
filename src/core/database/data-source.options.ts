import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import type { AppConfig } from '../../config/app.config';
import { SnakeNamingStrategy } from './snake-naming.strategy';
import { PG_TYPES } from './timestamptz';
import { DEFAULT_ISOLATION } from './transaction.runner';
import { TypeOrmLogger } from './typeorm-logger';

// Compiled code loads dist/migrations/*.js; ts-jest and ts-node load migrations/*.ts.
const MIGRATIONS_GLOB = join(__dirname, '..', '..', '..', 'migrations', `*${extname(__filename)}`);

function sslOptions(config: AppConfig): PostgresDataSourceOptions['ssl'] {
  switch (config.db.ssl) {
    case 'disable':
      return false;
    case 'require':
      return { rejectUnauthorized: false };
    case 'verify-full':
      return { rejectUnauthorized: true, ca: readFileSync(config.db.sslCaFile ?? '', 'utf8') };
  }
}

/** The one description of how Atrium talks to PostgreSQL; used by Nest, the migration CLI and tests. */
export function dataSourceOptions(config: AppConfig, applicationName: string): DataSourceOptions {
  return {
    type: 'postgres',
    url: config.db.url,
    ssl: sslOptions(config),
    synchronize: false,
    migrationsRun: false,
    migrations: [MIGRATIONS_GLOB],
    migrationsTableName: 'migrations',
    migrationsTransactionMode: 'each',
    namingStrategy: new SnakeNamingStrategy(),
    logger: new TypeOrmLogger(config.db.logQueries),
    maxQueryExecutionTime: 1000,
    extra: {
      max: config.db.poolSize,
      statement_timeout: config.db.statementTimeoutMs || undefined,
      application_name: applicationName,
      // Pins the session default, so a transaction at READ COMMITTED is one START TRANSACTION instead of a second
      // round trip for SET TRANSACTION ISOLATION LEVEL (TransactionRunner relies on it), whatever a database or
      // role default says.
      options: `-c default_transaction_isolation=${DEFAULT_ISOLATION.toLowerCase().replace(' ', '\\ ')}`,
      // Bounds both waits for a connection: a new one (PostgreSQL unreachable) and a free one from a full pool
      // (pg-pool queues checkouts without limit otherwise). The query then fails and the problem filter answers
      // 503 database-unavailable instead of holding the request until HTTP_TIMEOUT_MS.
      connectionTimeoutMillis: config.db.connectTimeoutMs,
      // Notice a peer that vanished without closing the connection (network partition) on idle connections.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      // pg's parsers, with a faster one for timestamptz (same Dates as postgres-date; see timestamptz.ts).
      types: PG_TYPES,
    },
  };
}
