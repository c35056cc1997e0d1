import { OnEvent } from '@nestjs/event-emitter';
import { CUSTOMER_CHANGED, type CustomerChangedEvent } from './customer.events';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import { Inject, Injectable } from '@nestjs/common';
import type { Cache } from 'cache-manager';
import type { Redis } from 'ioredis';
import { createHash } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { RedisAvailability } from '../../core/redis/redis-availability';
import { REDIS } from '../../core/redis/redis.module';
import type { ReadableDepartments } from '../rbac/decision/permission.service';
import type { CustomerStatsDto } from './customer-stats.dto';

/**
 * GET /customers/stats results in Redis, one entry per (organization, version, readable scope). Every write to
 * the organization's customers bumps its version (`invalidate`, after commit), so every API instance stops
 * reading the old entries at once; those simply expire (CACHE_TTL_SECONDS, which also bounds how late the
 * current week's count may be). The version is read before the stats are computed, so a result computed
 * while a write commits lands under the old version and is never served after it.
 * Without Redis every call computes.
 */
@Injectable()
export class CustomerStatsCache {
  constructor(
    @Inject(CACHE_MANAGER) private readonly cache: Cache,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
    private readonly availability: RedisAvailability,
  ) {}

  async getOrCompute(
    organizationId: string,
    scope: ReadableDepartments,
    compute: () => Promise<CustomerStatsDto>,
  ): Promise<CustomerStatsDto> {
    const version = await this.redis.get(this.versionKey(organizationId)).then(
      (value) => value ?? '0',
      () => null,
    );
    if (version === null) return compute();
    const key = `customers:stats:${organizationId}:${version}:${scopeKey(scope)}`;
    const cached = await this.cache.get<CustomerStatsDto>(key);
    if (cached) return cached;
    const stats = await compute();
    await this.cache.set(key, stats);
    return stats;
  }

  /**
   * Call after every committed change to the organization's customers (create, update, delete, restore,
   * import), e.g. `await tx.afterCommit(() => statsCache.invalidate(organizationId))`. Never throws.
   */
  async invalidate(organizationId: string): Promise<void> {
    // Missed while Redis is unreachable: bumped once it is back, or its old entries would be served again.
    const bump = () => this.redis.incr(this.versionKey(organizationId));
    await bump().catch(() => this.availability.replayWhenBack(this.versionKey(organizationId), bump));
  }

  /** CRUD writes announce themselves after commit (customers.service.ts). */
  @OnEvent(CUSTOMER_CHANGED)
  async onCustomerChanged(event: CustomerChangedEvent): Promise<void> {
    await this.invalidate(event.organizationId);
  }

  private versionKey(organizationId: string): string {
    return `${this.config.redis.keyPrefix}customers:stats-version:${organizationId}`;
  }
}

/** Callers with the same readable departments share an entry; the paths are not spelled out in the key. */
function scopeKey(scope: ReadableDepartments): string {
  if (scope.all) return 'all';
  return createHash('sha256')
    .update([...scope.paths].sort().join('\n'))
    .digest('base64url')
    .slice(0, 22);
}
