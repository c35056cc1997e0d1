import { makeRoom } from '../memory/make-room';
import type { RateLimitHit } from './rate-limit.storage';

/** Buckets one process keeps at most while Redis is down (~100 bytes each); then the oldest windows go first. */
export const LOCAL_MAX_BUCKETS = 100_000;

interface Window {
  count: number;
  resetAt: number;
}

/**
 * The fallback counter while Redis is unreachable: the same fixed window as the Redis script, kept in this
 * process's memory. Limits never disappear with Redis, but each API instance counts on its own meanwhile, so
 * a client spreading requests over N instances gets up to N × max per window (and the count starts from zero
 * when the fallback begins, and again when Redis is back).
 *
 * Memory is bounded: at LOCAL_MAX_BUCKETS buckets, expired windows are dropped, then the oldest ones down to
 * 90 % (the Map keeps insertion order, which is window start order, so those are nearest to resetting).
 */
export class LocalRateLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly maxBuckets = LOCAL_MAX_BUCKETS,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.windows.size;
  }

  hit(bucket: string, windowMs: number): RateLimitHit {
    const now = this.now();
    let window = this.windows.get(bucket);
    if (!window || window.resetAt <= now) {
      // Re-inserted, so that insertion order stays window start order.
      if (window) this.windows.delete(bucket);
      else if (this.windows.size >= this.maxBuckets) makeRoom(this.windows, this.maxBuckets, (w) => w.resetAt <= now);
      window = { count: 0, resetAt: now + windowMs };
      this.windows.set(bucket, window);
    }
    window.count++;
    return { count: window.count, msToReset: window.resetAt - now };
  }

  /** Forgets every count (Redis is back and counts again). */
  clear(): void {
    this.windows.clear();
  }
}
