/** Connection settings both ioredis and BullMQ accept. */
export interface RedisConnectionOptions {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls?: Record<string, never>;
  retryStrategy: (attempt: number) => number;
}

/** Options from a redis:// or rediss:// URL; shared by BullMQ, health and rate limits. */
export function redisOptionsFromUrl(redisUrl: string): RedisConnectionOptions {
  const url = new URL(redisUrl);
  const db = url.pathname.replace('/', '');
  return {
    host: url.hostname,
    port: Number(url.port || 6379),
    username: url.username ? decodeURIComponent(url.username) : undefined,
    password: url.password ? decodeURIComponent(url.password) : undefined,
    db: db ? Number(db) : 0,
    tls: url.protocol === 'rediss:' ? {} : undefined,
    // Back off to at most 5 s between reconnects so a Redis outage never turns into a busy loop.
    retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
  };
}
