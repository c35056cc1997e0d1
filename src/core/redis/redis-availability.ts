import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { REDIS } from './redis.tokens';

/** Most distinct writes kept for replay after an outage; beyond it the oldest is dropped (and logged). */
const MAX_PENDING_WRITES = 10_000;

/**
 * What this process knows about the shared Redis connection: whether it is up now, and when it last came
 * back from an outage this process saw.
 *
 * Redis holds copies whose truth is in PostgreSQL (session states, grants); a write that invalidates such a
 * copy (a revocation) fails while Redis is unreachable. When Redis comes back with its data (a partition
 * healed, or a restart from RDB/AOF), the stale copy is still there. Two things keep it from being served:
 * readers `distrust` cached entries for as long as such an entry can live after the recovery, and the
 * invalidating writes that failed are replayed (`replayWhenBack`) the moment the connection is ready again.
 */
@Injectable()
export class RedisAvailability {
  private readonly logger = new Logger('Redis');
  /** Lost the connection (or never had it) since the last 'ready'. */
  private lost = false;
  private recoveredAt = 0;
  private readonly pending = new Map<string, () => Promise<unknown>>();

  constructor(@Inject(REDIS) private readonly redis: Redis) {
    // Before the first 'ready', an error means Redis was unreachable at start: treat it like an outage.
    redis.on('error', () => (this.lost = true));
    redis.on('close', () => (this.lost = true));
    redis.on('ready', () => {
      if (!this.lost) return;
      this.lost = false;
      this.recoveredAt = Date.now();
      void this.replay();
    });
  }

  /** The shared client can send commands right now (it fails fast instead of queueing them otherwise). */
  get isUp(): boolean {
    return this.redis.status === 'ready';
  }

  /**
   * True while Redis is down, and for `windowMs` after it came back from an outage this process saw:
   * cached copies that an invalidation may have missed are not to be trusted for that long.
   */
  distrusts(windowMs: number): boolean {
    return !this.isUp || this.lost || Date.now() - this.recoveredAt < windowMs;
  }

  /**
   * Remembers a write that failed because Redis was unreachable and runs it once Redis is ready again.
   * The same `key` keeps only the latest write (they are idempotent: SET revoked, INCR version).
   */
  replayWhenBack(key: string, write: () => Promise<unknown>): void {
    this.pending.delete(key);
    this.pending.set(key, write);
    if (this.pending.size > MAX_PENDING_WRITES) {
      const oldest = this.pending.keys().next().value as string;
      this.pending.delete(oldest);
      this.logger.warn(`more than ${MAX_PENDING_WRITES} Redis writes waiting for Redis; dropped ${oldest}`);
    }
    // Redis may have come back between the failure and now.
    if (this.isUp && !this.lost) void this.replay();
  }

  private async replay(): Promise<void> {
    const writes = [...this.pending.entries()];
    this.pending.clear();
    let failed = 0;
    for (const [key, write] of writes) {
      try {
        await write();
      } catch {
        failed++;
        if (!this.pending.has(key)) this.pending.set(key, write);
      }
    }
    if (writes.length) this.logger.log(`replayed ${writes.length - failed} of ${writes.length} missed Redis writes`);
  }
}
