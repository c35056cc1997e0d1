import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { REDIS } from '../../core/redis/redis.module';

/** A public response as cached: the JSON body (already serialized form) and its ETag. */
export interface CachedResponse<T> {
  body: T;
  etag: string;
}

/**
 * Public post responses in Redis, keyed by (organization, version, request). Every committed change that a
 * reader could see (publish, and update/archive/delete of a published post) bumps the organization's
 * version (`evict`), so all API instances stop serving the old entries at once; those expire on their own.
 * The version is read before the response is computed, so a response computed while a change commits lands
 * under the old version and is never served after it. Without Redis every request computes.
 */
@Injectable()
export class PublicPostsCache {
  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  async getOrCompute<T>(
    organizationId: string,
    request: string,
    compute: () => Promise<T>,
  ): Promise<CachedResponse<T>> {
    const version = await this.redis.get(this.versionKey(organizationId)).then(
      (value) => value ?? '0',
      () => null,
    );
    if (version === null) return withEtag(await compute());
    const key = `posts:public:${organizationId}:${version}:${request}`;
    const cached = await this.cache.get<CachedResponse<T>>(key);
    if (cached) return cached;
    const fresh = withEtag(await compute());
    await this.cache.set(key, fresh);
    return fresh;
  }

  /** Call after a committed change visible to the public (`tx.afterCommit`). Never throws. */
  async evict(organizationId: string): Promise<void> {
    await this.redis.incr(this.versionKey(organizationId)).catch(() => undefined);
  }

  private versionKey(organizationId: string): string {
    return publicPostsVersionKey(this.config.redis.keyPrefix, organizationId);
  }
}

/**
 * The Redis key of an organization's public-posts cache version. A process without PublicPostsCache (the
 * worker, after a scheduled publish) evicts with `INCR` of this key.
 */
export function publicPostsVersionKey(keyPrefix: string, organizationId: string): string {
  return `${keyPrefix}posts:public-version:${organizationId}`;
}

/** The body as JSON will carry it (dates as strings), with a strong ETag of exactly those bytes. */
function withEtag<T>(value: T): CachedResponse<T> {
  const json = JSON.stringify(value);
  const etag = `"${createHash('sha256').update(json).digest('base64url').slice(0, 27)}"`;
  return { body: JSON.parse(json) as T, etag };
}
