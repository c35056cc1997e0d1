import { availableParallelism } from 'node:os';
import { auditEnv } from './audit.config';
import { authEnv, DEV_PASSWORD_PEPPER, DEV_TOTP_ENCRYPTION_KEY } from './auth.config';
import { customersEnv } from './customers.config';
import { mediaEnv } from './media.config';
import { scannerEnv } from './scanner.config';
import { storageEnv } from './storage.config';
import type { MediaType } from '../core/files/media-types';
import { databaseEnv } from './database.config';
import { ConfigError, readEnv, type EnvValues, type RawEnv } from './env-var';
import { httpEnv } from './http.config';
import { idempotencyEnv } from './idempotency.config';
import { jwtEnv } from './jwt.config';
import { loggingEnv } from './logging.config';
import { mailEnv } from './mail.config';
import { postsEnv } from './posts.config';
import { DEV_CURSOR_SECRET, paginationEnv } from './pagination.config';
import { queueOutboxEnv } from './queue-outbox.config';
import { rateLimitEnv } from './rate-limit.config';
import { redisEnv } from './redis.config';
import { runtimeEnv } from './runtime.config';
import { seedEnv } from './seed.config';
import { workerEnv } from './worker.config';

/** Every setting the API and worker read, in the order `.env.example` lists them. */
export const envSchema = {
  ...runtimeEnv,
  ...httpEnv,
  ...databaseEnv,
  ...redisEnv,
  ...loggingEnv,
  ...paginationEnv,
  ...jwtEnv,
  ...authEnv,
  ...rateLimitEnv,
  ...mailEnv,
  ...workerEnv,
  ...queueOutboxEnv,
  ...auditEnv,
  ...customersEnv,
  ...storageEnv,
  ...scannerEnv,
  ...mediaEnv,
  ...postsEnv,
  ...idempotencyEnv,
  ...seedEnv,
};

export type Env = EnvValues<typeof envSchema>;

function parseTrustProxy(raw: string): boolean | string[] {
  if (raw === 'true' || raw === 'false') return raw === 'true';
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The validated, typed configuration. Injected by class; nothing outside src/config reads process.env. */
export class AppConfig {
  readonly nodeEnv: Env['NODE_ENV'];
  readonly isProduction: boolean;
  readonly shutdown: { timeoutMs: number; readinessDelayMs: number };
  /** libuv's thread pool size as the environment sets it (the entry points default it before libuv starts). */
  readonly threadPoolSize: number;
  readonly http: {
    port: number;
    host: string;
    corsOrigins: string[];
    bodyLimit: number;
    timeoutMs: number;
    trustProxy: boolean | string[];
    metricsEnabled: boolean;
    docsEnabled: boolean;
    queueDashboardEnabled: boolean;
    queueDashboardOrganizations: string[];
  };
  readonly db: {
    url: string;
    poolSize: number;
    connectTimeoutMs: number;
    statementTimeoutMs: number;
    ssl: Env['DB_SSL'];
    sslCaFile?: string;
    migrateOnStart: boolean;
    logQueries: boolean;
  };
  readonly redis: { url: string; keyPrefix: string; cacheTtlSeconds: number; nearCache: boolean };
  readonly log: { level: Env['LOG_LEVEL']; format: Env['LOG_FORMAT'] };
  readonly pagination: { defaultLimit: number; maxLimit: number; cursorSecret: string };
  readonly jwt: {
    privateKeyFile?: string;
    privateKey?: string;
    publicKeysDir?: string;
    devKeyDir: string;
    algorithm: Env['JWT_ALGORITHM'];
    issuer: string;
    audience: string;
    accessTtlSeconds: number;
  };
  readonly auth: {
    registrationEnabled: boolean;
    requireVerifiedEmail: boolean;
    bcryptCost: number;
    /** bcrypt operations in flight at once, in the bcrypt process (the size of its libuv pool). */
    bcryptConcurrency: number;
    /** Of the bcrypt process's autogroup and threads; 0 leaves them at the API's priority. */
    bcryptNiceness: number;
    bcryptQueueMax: number;
    passwordPepper: Buffer;
    refreshTtlSeconds: number;
    refreshReuseGraceSeconds: number;
    mfaTokenTtlSeconds: number;
    otpTtlSeconds: number;
    otpMaxAttempts: number;
    lockoutThreshold: number;
    lockoutBaseSeconds: number;
    lockoutMaxSeconds: number;
    stepUpMaxAgeSeconds: number;
    totpEncryptionKey: Buffer;
    totpIssuer: string;
  };
  readonly rateLimit: { windowSeconds: number; max: number; authMax: number; batchMs: number };
  readonly mail: { smtpUrl?: string; from: string; outboxDir: string; publicAppUrl: string };
  readonly worker: { concurrency: number; jobLockMs: number; stalledIntervalMs: number };
  readonly queue: {
    enqueueTimeoutMs: number;
    outbox: { relayIntervalMs: number; batchSize: number; relayAfterMs: number };
  };
  readonly audit: { partitionsAheadMonths: number; retentionMonths: number };
  readonly customers: { importMaxBytes: number };
  readonly storage: {
    driver: Env['STORAGE_DRIVER'];
    localDir: string;
    localPublicUrl: string;
    signingSecret: string;
    minio: {
      endPoint: string;
      port: number;
      useSSL: boolean;
      accessKey: string;
      secretKey: string;
      bucket: string;
      region: string;
      publicUrl?: string;
      partSizeBytes: number;
    };
  };
  /** clamd; null = scanning off (media becomes `skipped`). */
  readonly scanner: {
    host?: string;
    port: number;
    socket?: string;
    timeoutMs: number;
    streamMaxBytes: number;
  } | null;
  readonly media: {
    maxBytes: Record<MediaType, number>;
    urlTtlSeconds: number;
    uploadTtlSeconds: number;
    zip: { maxEntries: number; maxUncompressedBytes: number; maxRatio: number };
    thumbSize: number;
    webSize: number;
  };
  readonly posts: {
    sweepIntervalSeconds: number;
    sweepBatchSize: number;
    partitionsAheadQuarters: number;
    jobLockMs: number;
    stalledIntervalMs: number;
  };
  readonly idempotency: { ttlSeconds: number; lockSeconds: number };
  readonly seed: { enabled: boolean; organizationName: string; adminEmail: string; adminPassword?: string };
  private readonly usesDevSecrets: { pepper: boolean; totpKey: boolean };

  constructor(env: Env) {
    this.nodeEnv = env.NODE_ENV;
    this.isProduction = env.NODE_ENV === 'production';
    this.shutdown = { timeoutMs: env.SHUTDOWN_TIMEOUT_MS, readinessDelayMs: env.SHUTDOWN_READINESS_DELAY_MS };
    this.threadPoolSize = env.UV_THREADPOOL_SIZE;
    this.http = {
      port: env.PORT,
      host: env.HOST,
      corsOrigins: env.CORS_ORIGINS,
      bodyLimit: env.BODY_LIMIT_BYTES,
      timeoutMs: env.HTTP_TIMEOUT_MS,
      trustProxy: parseTrustProxy(env.TRUST_PROXY),
      metricsEnabled: env.METRICS_ENABLED,
      docsEnabled: env.DOCS_ENABLED,
      queueDashboardEnabled: env.QUEUE_DASHBOARD_ENABLED,
      queueDashboardOrganizations: env.QUEUE_DASHBOARD_ORGANIZATIONS,
    };
    this.db = {
      url: env.DATABASE_URL,
      poolSize: env.DB_POOL_SIZE,
      connectTimeoutMs: env.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DB_STATEMENT_TIMEOUT_MS,
      ssl: env.DB_SSL,
      sslCaFile: env.DB_SSL_CA_FILE,
      migrateOnStart: env.DB_MIGRATE_ON_START,
      logQueries: env.DB_LOG_QUERIES,
    };
    this.redis = {
      url: env.REDIS_URL,
      keyPrefix: env.REDIS_KEY_PREFIX,
      cacheTtlSeconds: env.CACHE_TTL_SECONDS,
      nearCache: env.REDIS_NEAR_CACHE,
    };
    this.log = { level: env.LOG_LEVEL, format: env.LOG_FORMAT };
    this.pagination = {
      defaultLimit: env.PAGINATION_DEFAULT_LIMIT,
      maxLimit: env.PAGINATION_MAX_LIMIT,
      cursorSecret: env.CURSOR_SECRET,
    };
    this.jwt = {
      privateKeyFile: env.JWT_PRIVATE_KEY_FILE,
      privateKey: env.JWT_PRIVATE_KEY,
      publicKeysDir: env.JWT_PUBLIC_KEYS_DIR,
      devKeyDir: env.JWT_DEV_KEY_DIR,
      algorithm: env.JWT_ALGORITHM,
      issuer: env.JWT_ISSUER,
      audience: env.JWT_AUDIENCE,
      accessTtlSeconds: env.JWT_ACCESS_TTL_SECONDS,
    };
    this.auth = {
      registrationEnabled: env.AUTH_REGISTRATION_ENABLED,
      requireVerifiedEmail: env.AUTH_REQUIRE_VERIFIED_EMAIL,
      bcryptCost: env.BCRYPT_COST,
      bcryptConcurrency:
        env.BCRYPT_CONCURRENCY === 'auto' ? autoBcryptConcurrency(availableParallelism()) : env.BCRYPT_CONCURRENCY,
      bcryptNiceness: env.BCRYPT_NICENESS,
      bcryptQueueMax: env.BCRYPT_QUEUE_MAX,
      passwordPepper: Buffer.from(env.PASSWORD_PEPPER, 'base64'),
      refreshTtlSeconds: env.REFRESH_TOKEN_TTL_SECONDS,
      refreshReuseGraceSeconds: env.REFRESH_REUSE_GRACE_SECONDS,
      mfaTokenTtlSeconds: env.MFA_TOKEN_TTL_SECONDS,
      otpTtlSeconds: env.OTP_TTL_SECONDS,
      otpMaxAttempts: env.OTP_MAX_ATTEMPTS,
      lockoutThreshold: env.LOCKOUT_THRESHOLD,
      lockoutBaseSeconds: env.LOCKOUT_BASE_SECONDS,
      lockoutMaxSeconds: env.LOCKOUT_MAX_SECONDS,
      stepUpMaxAgeSeconds: env.STEP_UP_MAX_AGE_SECONDS,
      totpEncryptionKey: Buffer.from(env.TOTP_ENCRYPTION_KEY, 'base64'),
      totpIssuer: env.TOTP_ISSUER,
    };
    this.rateLimit = {
      windowSeconds: env.RATE_LIMIT_WINDOW_SECONDS,
      max: env.RATE_LIMIT_MAX,
      authMax: env.RATE_LIMIT_AUTH_MAX,
      batchMs: env.RATE_LIMIT_BATCH_MS,
    };
    this.mail = {
      smtpUrl: env.SMTP_URL,
      from: env.MAIL_FROM,
      outboxDir: env.MAIL_OUTBOX_DIR,
      publicAppUrl: env.PUBLIC_APP_URL,
    };
    this.worker = {
      concurrency: env.WORKER_CONCURRENCY,
      jobLockMs: env.QUEUE_JOB_LOCK_MS,
      stalledIntervalMs: env.QUEUE_STALLED_INTERVAL_MS,
    };
    this.queue = {
      enqueueTimeoutMs: env.QUEUE_ENQUEUE_TIMEOUT_MS,
      outbox: {
        relayIntervalMs: env.QUEUE_OUTBOX_RELAY_INTERVAL_MS,
        batchSize: env.QUEUE_OUTBOX_RELAY_BATCH_SIZE,
        relayAfterMs: env.QUEUE_OUTBOX_RELAY_AFTER_MS,
      },
    };
    this.audit = {
      partitionsAheadMonths: env.AUDIT_PARTITIONS_AHEAD_MONTHS,
      retentionMonths: env.AUDIT_RETENTION_MONTHS,
    };
    this.customers = { importMaxBytes: env.CUSTOMER_IMPORT_MAX_BYTES };
    this.storage = {
      driver: env.STORAGE_DRIVER,
      localDir: env.STORAGE_LOCAL_DIR,
      localPublicUrl: env.STORAGE_LOCAL_PUBLIC_URL.replace(/\/+$/, ''),
      signingSecret: env.STORAGE_SIGNING_SECRET,
      minio: {
        endPoint: env.MINIO_ENDPOINT,
        port: env.MINIO_PORT,
        useSSL: env.MINIO_USE_SSL,
        accessKey: env.MINIO_ACCESS_KEY,
        secretKey: env.MINIO_SECRET_KEY,
        bucket: env.MINIO_BUCKET,
        region: env.MINIO_REGION,
        publicUrl: env.MINIO_PUBLIC_URL,
        partSizeBytes: env.MINIO_PART_SIZE_MB * 1024 * 1024,
      },
    };
    this.scanner =
      env.CLAMAV_HOST || env.CLAMAV_SOCKET
        ? {
            host: env.CLAMAV_HOST,
            port: env.CLAMAV_PORT,
            socket: env.CLAMAV_SOCKET,
            timeoutMs: env.CLAMAV_TIMEOUT_MS,
            streamMaxBytes: env.CLAMAV_STREAM_MAX_BYTES,
          }
        : null;
    this.media = {
      maxBytes: {
        jpg: env.MEDIA_MAX_BYTES_JPG,
        png: env.MEDIA_MAX_BYTES_PNG,
        gif: env.MEDIA_MAX_BYTES_GIF,
        pdf: env.MEDIA_MAX_BYTES_PDF,
        docx: env.MEDIA_MAX_BYTES_DOCX,
        xlsx: env.MEDIA_MAX_BYTES_XLSX,
        mp4: env.MEDIA_MAX_BYTES_MP4,
      },
      urlTtlSeconds: env.MEDIA_URL_TTL_SECONDS,
      uploadTtlSeconds: env.MEDIA_UPLOAD_TTL_SECONDS,
      zip: {
        maxEntries: env.MEDIA_ZIP_MAX_ENTRIES,
        maxUncompressedBytes: env.MEDIA_ZIP_MAX_UNCOMPRESSED_BYTES,
        maxRatio: env.MEDIA_ZIP_MAX_RATIO,
      },
      thumbSize: env.MEDIA_THUMB_SIZE,
      webSize: env.MEDIA_WEB_SIZE,
    };
    this.posts = {
      sweepIntervalSeconds: env.POSTS_SWEEP_INTERVAL_SECONDS,
      sweepBatchSize: env.POSTS_SWEEP_BATCH_SIZE,
      partitionsAheadQuarters: env.POSTS_PARTITIONS_AHEAD_QUARTERS,
      jobLockMs: env.POSTS_JOB_LOCK_MS,
      stalledIntervalMs: env.POSTS_STALLED_INTERVAL_MS,
    };
    this.idempotency = { ttlSeconds: env.IDEMPOTENCY_TTL_SECONDS, lockSeconds: env.IDEMPOTENCY_LOCK_SECONDS };
    this.seed = {
      enabled: env.SEED_DEMO,
      organizationName: env.DEMO_ORGANIZATION_NAME,
      adminEmail: env.DEMO_ADMIN_EMAIL,
      adminPassword: env.DEMO_ADMIN_PASSWORD,
    };
    this.usesDevSecrets = {
      pepper: env.PASSWORD_PEPPER === DEV_PASSWORD_PEPPER,
      totpKey: env.TOTP_ENCRYPTION_KEY === DEV_TOTP_ENCRYPTION_KEY,
    };
  }

  /** Validates the environment; throws ConfigError with one line naming the variable and the problem. */
  static fromEnv(env: RawEnv): AppConfig {
    const values = readEnv(envSchema, env);
    if (values.PAGINATION_DEFAULT_LIMIT > values.PAGINATION_MAX_LIMIT) {
      throw new ConfigError('Invalid configuration: PAGINATION_DEFAULT_LIMIT must not exceed PAGINATION_MAX_LIMIT');
    }
    if (values.DB_SSL === 'verify-full' && !values.DB_SSL_CA_FILE) {
      throw new ConfigError('Invalid configuration: DB_SSL_CA_FILE is required when DB_SSL=verify-full');
    }
    const config = new AppConfig(values);
    config.assertScannerCoversMedia();
    if (config.isProduction) config.assertProductionSafe();
    return config;
  }

  /**
   * clamd lets a stream longer than its StreamMaxLength through unless AlertExceedsMax is set; keeping every
   * upload cap below it means a scan always sees the whole file.
   */
  private assertScannerCoversMedia(): void {
    if (!this.scanner) return;
    for (const [type, max] of Object.entries(this.media.maxBytes)) {
      if (max >= this.scanner.streamMaxBytes) {
        throw new ConfigError(
          `Invalid configuration: MEDIA_MAX_BYTES_${type.toUpperCase()} must be below CLAMAV_STREAM_MAX_BYTES (${this.scanner.streamMaxBytes}) while scanning is on`,
        );
      }
    }
  }

  /** Production refuses every fallback that is only safe on a developer's machine. */
  private assertProductionSafe(): void {
    if (!this.jwt.privateKey && !this.jwt.privateKeyFile) {
      throw new ConfigError(
        'Invalid configuration: JWT_PRIVATE_KEY_FILE (or JWT_PRIVATE_KEY) is required in production; generated dev keys are refused',
      );
    }
    if (this.http.corsOrigins.includes('*')) {
      throw new ConfigError('Invalid configuration: CORS_ORIGINS must list origins in production; "*" is refused');
    }
    if (this.pagination.cursorSecret === DEV_CURSOR_SECRET || this.pagination.cursorSecret.length < 32) {
      throw new ConfigError(
        'Invalid configuration: CURSOR_SECRET must be set to a secret of 32+ characters in production',
      );
    }
    if (this.usesDevSecrets.pepper) {
      throw new ConfigError(
        'Invalid configuration: PASSWORD_PEPPER must be set in production; the development default is refused',
      );
    }
    if (this.usesDevSecrets.totpKey) {
      throw new ConfigError(
        'Invalid configuration: TOTP_ENCRYPTION_KEY must be set in production; the development default is refused',
      );
    }
    if (this.log.format === 'pretty') {
      throw new ConfigError(
        'Invalid configuration: LOG_FORMAT=pretty is for development; use json or ecs in production',
      );
    }
    if (this.storage.driver === 'local') {
      throw new ConfigError(
        'Invalid configuration: STORAGE_DRIVER=local is for development; use minio (S3) in production',
      );
    }
    if (this.storage.minio.secretKey === 'minioadmin') {
      throw new ConfigError('Invalid configuration: MINIO_SECRET_KEY must be set in production; minioadmin is refused');
    }
  }
}

/**
 * bcrypt is pure CPU, so more checks in flight than cores only lengthen every check without adding
 * throughput. Its threads are the bcrypt process's own (not the API's libuv pool), so no other work waits for
 * one of them; the cap keeps a big machine from running many slow checks at once for one login flood: more
 * is a deliberate BCRYPT_CONCURRENCY.
 */
export function autoBcryptConcurrency(cpus: number): number {
  return Math.max(1, Math.min(cpus, 8));
}
