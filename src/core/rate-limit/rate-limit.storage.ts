import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { REDIS } from '../redis/redis.module';
import type { LookupPart } from '../redis/caller-lookups';
import { RedisScript } from '../redis/redis-script';

/**
 * Fixed window counter: the first hit creates the counter with the window as its lifetime, later hits only
 * increment it, so the window starts at a client's first request (no shared boundary where every client's
 * quota resets at once). One key per bucket, O(1) memory, and the exact time to reset, which the
 * `RateLimit` header and `Retry-After` need. The known cost is a burst of up to 2 × max around a window
 * boundary; a sliding window or GCRA would smooth that but needs more state or gives vaguer reset times,
 * which is not worth it for per-route request limits.
 *
 * Increment, expiry and the read-back run as one script: atomic (no counter left without expiry when a
 * client dies between commands) and one round trip. `PTTL < 0` also repairs a counter that lost its expiry.
 * ARGV: the window (ms) and the hits to add (1, or more with hits counted in the process: BatchedCounts).
 * Returns `{ count, msToReset }`. Runs alone (HIT_SCRIPT) or, for an authenticated request, as the rate-limit
 * guard's part of the JWT guard's per-request script (CallerLookups).
 */
export const HIT_PART: LookupPart = {
  lua: `
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  ttl = tonumber(ARGV[1])
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return { count, ttl }
`,
  keys: 1,
  args: 2,
};
const HIT_SCRIPT = new RedisScript(HIT_PART.lua);

export interface RateLimitHit {
  /** Requests counted in the current window, this one included. */
  count: number;
  /** Milliseconds until the window ends and the count starts again. */
  msToReset: number;
}

/** Request counters in Redis under `${REDIS_KEY_PREFIX}rl:`, shared by every API instance. */
@Injectable()
export class RateLimitStorage {
  private readonly keyPrefix: string;

  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    config: AppConfig,
  ) {
    this.keyPrefix = `${config.redis.keyPrefix}rl:`;
  }

  /** Counts `hits` requests in `bucket`; rejects when Redis is unreachable (the shared client has no offline queue). */
  async hit(bucket: string, windowMs: number, hits = 1): Promise<RateLimitHit> {
    return toHit(await HIT_SCRIPT.run(this.redis, [this.keyOf(bucket)], [windowMs, hits]));
  }

  /** The Redis key of a bucket (HIT_PART's key). */
  keyOf(bucket: string): string {
    return this.keyPrefix + bucket;
  }
}

/** HIT_PART's reply as a hit. */
export function toHit(reply: unknown): RateLimitHit {
  const [count, msToReset] = reply as [number, number];
  return { count, msToReset };
}
