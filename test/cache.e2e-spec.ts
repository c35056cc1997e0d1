import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Cache } from 'cache-manager';
import { Redis } from 'ioredis';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { CacheModule } from '../src/core/cache/cache.module';
import { createTestApp, testConfig } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

/** Resolves with the promise's value, or rejects if it takes longer than `ms` (a hang is a failure). */
async function within<T>(ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function scanKeys(redis: Redis, pattern: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

describe(CacheModule.name, () => {
  const { keyPrefix, url } = testConfig().redis;
  let app: NestFastifyApplication;
  let cache: Cache;
  let redis: Redis;

  beforeAll(async () => {
    app = await createTestApp();
    cache = app.get<Cache>(CACHE_MANAGER);
    redis = new Redis(url);
    // The store connects on first use and gives each operation 250 ms for that (by design: a Redis outage must not
    // hold requests); under a loaded CI machine the very first set could be dropped. These tests are about what a
    // connected cache does (the outage cases have their own), so they start once it answers.
    const probe = `warm-${randomUUID()}`;
    await waitFor(
      async () => {
        await cache.set(probe, 1);
        return (await cache.get(probe)) === 1 ? true : undefined;
      },
      { timeoutMs: 10_000, what: 'the cache to answer' },
    );
    await cache.del(probe);
  });
  afterAll(async () => {
    await redis.quit();
    await app.close();
  });

  it('should return the stored value when a key is set and read back', async () => {
    const key = `round-trip-${randomUUID()}`;
    const value = { id: 42, name: 'Ada', tags: ['a', 'b'], nested: { ok: true } };
    await cache.set(key, value);
    await expect(cache.get(key)).resolves.toEqual(value);
    await cache.del(key);
    await expect(cache.get(key)).resolves.toBeUndefined();
  });

  it('should forget the value when its ttl has passed', async () => {
    const key = `ttl-${randomUUID()}`;
    await cache.set(key, 'short-lived', 300);
    await expect(cache.get(key)).resolves.toBe('short-lived');
    // The expiry is Redis's own, not only Keyv's check on read.
    const pttl = await redis.pttl(`${keyPrefix}cache:${key}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);

    await sleep(500);
    await expect(cache.get(key)).resolves.toBeUndefined();
    await expect(redis.exists(`${keyPrefix}cache:${key}`)).resolves.toBe(0);
  });

  it('should apply the configured default ttl when set is called without one', async () => {
    const key = `default-ttl-${randomUUID()}`;
    await cache.set(key, 1);
    const pttl = await redis.pttl(`${keyPrefix}cache:${key}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(testConfig().redis.cacheTtlSeconds * 1000);
  });

  it('should store the key in Redis under the run prefix and the cache namespace when set', async () => {
    const key = `stored-${randomUUID()}`;
    await cache.set(key, { marker: key });

    const found = await scanKeys(redis, `*${key}*`);
    expect(found).toEqual([`${keyPrefix}cache:${key}`]);
    const raw = await redis.get(found[0]);
    expect(raw).toContain(key);
  });

  it('should not see the keys of an app with another REDIS_KEY_PREFIX when the prefixes differ', async () => {
    const otherPrefix = `${keyPrefix}other-${randomUUID().slice(0, 8)}:`;
    const other = await createTestApp({ REDIS_KEY_PREFIX: otherPrefix });
    try {
      const otherCache = other.get<Cache>(CACHE_MANAGER);
      const key = `isolated-${randomUUID()}`;
      await cache.set(key, 'first');
      await expect(otherCache.get(key)).resolves.toBeUndefined();

      await otherCache.set(key, 'second');
      await expect(cache.get(key)).resolves.toBe('first');
      await expect(otherCache.get(key)).resolves.toBe('second');
      await expect(redis.exists(`${otherPrefix}cache:${key}`)).resolves.toBe(1);
    } finally {
      await other.close();
    }
  });

  describe('with Redis unreachable', () => {
    let downApp: NestFastifyApplication;
    let downCache: Cache;
    beforeAll(async () => {
      // Nothing listens on this port.
      downApp = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:6399' });
      downCache = downApp.get<Cache>(CACHE_MANAGER);
    });
    afterAll(async () => {
      await downApp.close();
    });

    it('should miss instead of throwing or hanging when reading', async () => {
      await expect(within(2000, downCache.get(`down-${randomUUID()}`))).resolves.toBeUndefined();
    });

    it('should drop the write instead of throwing or hanging when writing', async () => {
      const key = `down-${randomUUID()}`;
      await expect(within(2000, downCache.set(key, 'lost'))).resolves.not.toThrow();
      await expect(within(2000, downCache.get(key))).resolves.toBeUndefined();
    });
  });
});
