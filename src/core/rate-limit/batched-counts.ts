import type { RateLimitHit } from './rate-limit.storage';

/** Hits one process holds back per bucket at most, however large the limit. */
export const MAX_SLACK = 100;
/** Buckets one process keeps tallies for at most; beyond it, new buckets are counted hit by hit. */
export const MAX_TALLIES = 100_000;

/** What a tally needs of a policy. */
export interface BatchedLimit {
  max: number;
  windowMs: number;
  /** Hits this process may hold back for a bucket (0: count every hit in Redis). */
  slack: number;
}

/** Slack of a limit of `max`: a twentieth of it, at most MAX_SLACK; limits below 40 get none. */
export function slackOf(max: number): number {
  const slack = Math.min(MAX_SLACK, Math.floor(max / 20));
  return slack >= 2 ? slack : 0;
}

interface Tally {
  limit: BatchedLimit;
  /** The bucket's count in Redis as of its last reply to this process. */
  base: number;
  /** Hits counted here since, not yet sent. */
  pending: number;
  /** Hits sent to Redis whose reply has not come back (in no `base` yet). */
  inFlight: number;
  /** When the window ends, as Redis said (its PTTL on this process's clock). */
  resetAt: number;
}

/**
 * Rate-limit hits counted in this process and sent to Redis in batches, so that a request far from its
 * limit costs no Redis round trip. A bucket is known here after one hit counted in Redis (its count and
 * window); then hits are counted locally (count = Redis's last count + the hits held back) and added to Redis
 * every `batchMs` (one INCRBY per bucket). Exact where it matters: a bucket within `slack` of its limit, or
 * with `slack` hits held back, or in the last `batchMs` of its window, is counted in Redis on every hit
 * again (with the held-back hits in the same command). Auth limits and small limits have no slack at all.
 *
 * What it gives up: with N API instances a bucket can exceed its limit by up to N × slack (each instance
 * holds back at most slack hits the others do not see), i.e. 5 % per instance; with one instance the counts
 * and the `RateLimit` headers are exact. Hits held back when a process dies or Redis fails are not added.
 */
export class BatchedCounts {
  private readonly tallies = new Map<string, Tally>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly batchMs: number,
    /** Adds `hits` to the bucket in Redis and answers its count and time to reset. */
    private readonly send: (bucket: string, hits: number, windowMs: number) => Promise<RateLimitHit>,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.tallies.size;
  }

  /** The hit counted here, or null: count it in Redis now, adding `take(bucket)`. */
  hit(bucket: string, limit: BatchedLimit): RateLimitHit | null {
    if (this.batchMs === 0 || limit.slack === 0) return null;
    const tally = this.tallies.get(bucket);
    if (!tally) return null;
    const now = this.now();
    const msToReset = tally.resetAt - now;
    // A batch arriving after Redis ended the window would open the next one with this window's hits.
    if (msToReset <= this.batchMs) return null;
    const count = tally.base + tally.inFlight + tally.pending + 1;
    if (tally.pending + 1 >= limit.slack || count > limit.max - limit.slack) return null;
    tally.pending++;
    this.schedule();
    return { count, msToReset };
  }

  /**
   * The hits to send for a hit about to be counted in Redis: itself and those held back for `bucket` (no
   * longer held). Pass the number to `counted` with Redis's reply.
   */
  take(bucket: string): number {
    const tally = this.tallies.get(bucket);
    if (!tally) return 1;
    const hits = (tally.resetAt > this.now() ? tally.pending : 0) + 1;
    tally.pending = 0;
    tally.inFlight += hits;
    return hits;
  }

  /** Redis counted `sent` hits of the bucket and answered `hit`: tallies go on from there. */
  counted(bucket: string, limit: BatchedLimit, hit: RateLimitHit, sent: number): void {
    const tally = this.tallies.get(bucket);
    if (tally) tally.inFlight = Math.max(0, tally.inFlight - sent);
    if (this.batchMs === 0 || limit.slack === 0 || limit.windowMs <= 2 * this.batchMs) return;
    const resetAt = this.now() + hit.msToReset;
    if (!tally) {
      if (this.tallies.size >= MAX_TALLIES && !this.sweep()) return;
      this.tallies.set(bucket, { limit, base: hit.count, pending: 0, inFlight: 0, resetAt });
      return;
    }
    // Replies within one window only differ by their round trips; a later window starts from its own count.
    tally.base = resetAt > tally.resetAt + this.batchMs ? hit.count : Math.max(tally.base, hit.count);
    tally.resetAt = resetAt;
    tally.limit = limit;
  }

  /** Sends every bucket's held-back hits now (the timer does this every batchMs). */
  async flush(): Promise<void> {
    this.timer = undefined;
    const now = this.now();
    const sent: Array<Promise<void>> = [];
    for (const [bucket, tally] of this.tallies) {
      if (tally.resetAt <= now) {
        // The window is over: its held-back hits no longer count against anything.
        this.tallies.delete(bucket);
        continue;
      }
      if (tally.pending === 0) continue;
      const hits = tally.pending;
      tally.pending = 0;
      tally.inFlight += hits;
      sent.push(
        this.send(bucket, hits, tally.limit.windowMs).then(
          (hit) => this.counted(bucket, tally.limit, hit, hits),
          // Redis failed: those hits are not added (the requests were served); the next hit asks Redis.
          () => void this.tallies.delete(bucket),
        ),
      );
    }
    await Promise.all(sent);
  }

  /** Forgets every tally (Redis is down: LocalRateLimiter counts meanwhile). */
  clear(): void {
    this.tallies.clear();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => void this.flush(), this.batchMs);
    // Held-back hits never keep a process alive.
    this.timer.unref();
  }

  /** Drops ended windows; true when that made room. */
  private sweep(): boolean {
    const now = this.now();
    for (const [bucket, tally] of this.tallies) if (tally.resetAt <= now) this.tallies.delete(bucket);
    return this.tallies.size < MAX_TALLIES;
  }
}
