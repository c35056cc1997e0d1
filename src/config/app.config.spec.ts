import { availableParallelism } from 'node:os';
import { AppConfig, autoBcryptConcurrency } from './app.config';
import { ConfigError } from './env-var';

const PRODUCTION_SAFE = {
  NODE_ENV: 'production',
  JWT_PRIVATE_KEY_FILE: '/run/secrets/jwt.pem',
  CORS_ORIGINS: 'https://app.example.com',
  CURSOR_SECRET: 'c'.repeat(40),
  PASSWORD_PEPPER: Buffer.alloc(32, 7).toString('base64'),
  TOTP_ENCRYPTION_KEY: Buffer.alloc(32, 9).toString('base64'),
  STORAGE_DRIVER: 'minio',
  MINIO_SECRET_KEY: 's'.repeat(40),
};

function errorOf(env: Record<string, string>): string {
  try {
    AppConfig.fromEnv(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a ConfigError');
}

describe(AppConfig.name, () => {
  it('should apply safe development defaults when nothing is set', () => {
    const config = AppConfig.fromEnv({});
    expect(config.nodeEnv).toBe('development');
    expect(config.http.port).toBe(3000);
    expect(config.db.migrateOnStart).toBe(true);
    expect(config.http.metricsEnabled).toBe(true);
    expect(config.redis.keyPrefix).toBe('atrium:');
    expect(config.pagination).toMatchObject({ defaultLimit: 20, maxLimit: 100 });
  });

  it('should type values when they are valid', () => {
    const config = AppConfig.fromEnv({
      PORT: '8080',
      DB_MIGRATE_ON_START: 'no',
      CORS_ORIGINS: 'https://a.example, https://b.example',
    });
    expect(config.http.port).toBe(8080);
    expect(config.db.migrateOnStart).toBe(false);
    expect(config.http.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
  });

  it.each([
    [{ PORT: 'abc' }, 'Invalid configuration: PORT must be an integer (got "abc")'],
    [{ PORT: '70000' }, 'Invalid configuration: PORT must be between 0 and 65535 (got "70000")'],
    [
      { NODE_ENV: 'staging' },
      'Invalid configuration: NODE_ENV must be one of development, test, production (got "staging")',
    ],
    [
      { DB_MIGRATE_ON_START: 'maybe' },
      'Invalid configuration: DB_MIGRATE_ON_START must be true or false (got "maybe")',
    ],
    [{ REDIS_URL: 'http://cache' }, 'Invalid configuration: REDIS_URL must use redis:// or rediss://'],
    [{ DB_SSL: 'verify-full' }, 'Invalid configuration: DB_SSL_CA_FILE is required when DB_SSL=verify-full'],
    [
      { PAGINATION_DEFAULT_LIMIT: '50', PAGINATION_MAX_LIMIT: '10' },
      'PAGINATION_DEFAULT_LIMIT must not exceed PAGINATION_MAX_LIMIT',
    ],
  ])('should reject %j with one line naming the variable', (env, message) => {
    const error = errorOf(env);
    expect(error).toContain(message);
    expect(error).not.toContain('\n');
  });

  it('should never echo a secret value in the error', () => {
    const error = errorOf({ DATABASE_URL: 'mysql://user:topsecret@db/x' });
    expect(error).toContain('DATABASE_URL');
    expect(error).not.toContain('topsecret');
  });

  it('should accept a production configuration without insecure defaults', () => {
    const config = AppConfig.fromEnv(PRODUCTION_SAFE);
    expect(config.isProduction).toBe(true);
    expect(config.db.migrateOnStart).toBe(false);
    expect(config.http.metricsEnabled).toBe(false);
  });

  it.each([
    [{ JWT_PRIVATE_KEY_FILE: '' }, 'JWT_PRIVATE_KEY_FILE (or JWT_PRIVATE_KEY) is required in production'],
    [{ CORS_ORIGINS: '*' }, 'CORS_ORIGINS must list origins in production'],
    [{ CURSOR_SECRET: undefined }, 'CURSOR_SECRET must be set to a secret of 32+ characters in production'],
    [{ CURSOR_SECRET: 'short-but-valid-16' }, 'CURSOR_SECRET must be set to a secret of 32+ characters in production'],
    [{ LOG_FORMAT: 'pretty' }, 'LOG_FORMAT=pretty is for development'],
    [{ PASSWORD_PEPPER: undefined }, 'PASSWORD_PEPPER must be set in production'],
    [{ TOTP_ENCRYPTION_KEY: undefined }, 'TOTP_ENCRYPTION_KEY must be set in production'],
    [{ STORAGE_DRIVER: 'local' }, 'STORAGE_DRIVER=local is for development'],
    [{ MINIO_SECRET_KEY: undefined }, 'MINIO_SECRET_KEY must be set in production'],
  ])('should refuse the insecure production setting %j', (override, message) => {
    const env = { ...PRODUCTION_SAFE, ...override } as Record<string, string>;
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
    expect(errorOf(env)).toContain(message);
  });

  it('should refuse a media cap that reaches clamd’s stream limit while scanning is on', () => {
    expect(
      errorOf({ CLAMAV_HOST: '127.0.0.1', CLAMAV_STREAM_MAX_BYTES: '104857600', MEDIA_MAX_BYTES_PDF: '104857600' }),
    ).toContain('MEDIA_MAX_BYTES_PDF must be below CLAMAV_STREAM_MAX_BYTES');
  });

  it('should turn scanning off unless a clamd host or socket is set', () => {
    expect(AppConfig.fromEnv({}).scanner).toBeNull();
    expect(AppConfig.fromEnv({ CLAMAV_SOCKET: '/run/clamd.ctl' }).scanner).toMatchObject({ socket: '/run/clamd.ctl' });
  });

  it('should run as many bcrypt threads as CPU cores, at most 8, when BCRYPT_CONCURRENCY is auto, whatever the libuv pool', () => {
    expect(autoBcryptConcurrency(2)).toBe(2);
    expect(autoBcryptConcurrency(6)).toBe(6);
    expect(autoBcryptConcurrency(64)).toBe(8);
    expect(autoBcryptConcurrency(0)).toBe(1);
    const config = AppConfig.fromEnv({ UV_THREADPOOL_SIZE: '2' });
    expect(config.threadPoolSize).toBe(2);
    expect(config.auth.bcryptConcurrency).toBe(Math.min(availableParallelism(), 8));
    expect(AppConfig.fromEnv({ UV_THREADPOOL_SIZE: '4', BCRYPT_CONCURRENCY: '4' }).auth.bcryptConcurrency).toBe(4);
    expect(AppConfig.fromEnv({}).auth.bcryptQueueMax).toBe(32);
  });

  it('should refuse a BCRYPT_CONCURRENCY that is not a positive integer', () => {
    expect(errorOf({ BCRYPT_CONCURRENCY: 'many' })).toMatch(/BCRYPT_CONCURRENCY must be an integer/);
    expect(errorOf({ BCRYPT_CONCURRENCY: '0' })).toMatch(/BCRYPT_CONCURRENCY must be between 1 and 1024/);
  });

  it('should lower the bcrypt threads to niceness 19 by default and accept 0 to 19 only', () => {
    expect(AppConfig.fromEnv({}).auth.bcryptNiceness).toBe(19);
    expect(AppConfig.fromEnv({ BCRYPT_NICENESS: '0' }).auth.bcryptNiceness).toBe(0);
    expect(errorOf({ BCRYPT_NICENESS: '20' })).toMatch(/BCRYPT_NICENESS must be between 0 and 19/);
    expect(errorOf({ BCRYPT_NICENESS: '-5' })).toMatch(/BCRYPT_NICENESS must be between 0 and 19/);
  });
});
