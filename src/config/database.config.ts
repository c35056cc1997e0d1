import { bool, int, oneOf, optionalStr, url } from './env-var';

export const databaseEnv = {
  DATABASE_URL: url({
    default: 'postgres://postgres@127.0.0.1:5432/atrium',
    protocols: ['postgres', 'postgresql'],
    secret: true,
    description: 'PostgreSQL connection URL',
  }),
  DB_POOL_SIZE: int({ default: '10', min: 1, max: 500, description: 'PostgreSQL connection pool size per process' }),
  DB_CONNECT_TIMEOUT_MS: int({
    default: '5000',
    min: 100,
    max: 600000,
    description:
      'Longest a query waits for a PostgreSQL connection (a free one from the pool, or a new one) before the request fails with 503 database-unavailable; bounds queueing when the pool is exhausted or PostgreSQL is unreachable',
  }),
  DB_STATEMENT_TIMEOUT_MS: int({
    default: '15000',
    min: 0,
    max: 3600000,
    description: 'statement_timeout for every connection (ms, 0 = none)',
  }),
  DB_SSL: oneOf(['disable', 'require', 'verify-full'] as const, {
    default: 'disable',
    description: 'TLS to PostgreSQL: disable, require (encrypt, no verification) or verify-full',
  }),
  DB_SSL_CA_FILE: optionalStr({ description: 'CA bundle (PEM file) used with DB_SSL=verify-full' }),
  DB_MIGRATE_ON_START: bool({
    default: (env) => (env.NODE_ENV === 'production' ? 'false' : 'true'),
    description: 'Run pending migrations when the API starts (default true outside production)',
  }),
  DB_LOG_QUERIES: bool({ default: 'false', description: 'Log every SQL statement (debugging only)' }),
};
