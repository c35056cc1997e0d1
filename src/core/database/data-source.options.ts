import { readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { PostgresDataSourceOptions } from 'typeorm/driver/postgres/PostgresDataSourceOptions';
import type { AppConfig } from '../../config/app.config';
import { SnakeNamingStrategy } from './snake-naming.strategy';
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
      connectionTimeoutMillis: 5000,
    },
  };
}
