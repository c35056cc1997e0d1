import { Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { makeRoom } from '../memory/make-room';
import { redisOptionsFromUrl } from './redis-connection';

/** The longest an entry is served without asking Redis again, even with no invalidation in between. */
export const NEAR_CACHE_MAX_AGE_MS = 5_000;
/** Entries one process keeps at most; beyond it the oldest tenth goes. */
export const NEAR_CACHE_MAX_ENTRIES = 100_000;

const INVALIDATE_CHANNEL = '__redis__:invalidate';

interface Entry {
  value: string;
  until: number;
}

/**
 * Copies of Redis values in this process, for lookups made on every request (session states, grants) that
 * would otherwise cost a Redis round trip each: Redis itself says when a copy goes stale. This uses Redis's
 * server-assisted client-side caching in broadcast mode: a connection of its own subscribes to
 * `__redis__:invalidate` with `CLIENT TRACKING ON REDIRECT <own id> BCAST PREFIX …` for the prefixes the
 * stores `track`, and Redis sends it the name of every key under them that anyone changes, deletes, expires
 * or evicts (and a flush). So a revocation or a role change written through any API instance reaches every
 * other instance's copies as Redis applies it, not after a lifetime.
 *
 * Copies are served only while that connection is subscribed: a lost connection (or Redis restart) drops
 * every copy and nothing is served or kept until it is subscribed again, so a missed invalidation cannot
 * leave a stale copy behind. A read races an invalidation arriving on the other connection; `ticket()` taken
 * before the read and passed to `fill` makes a fill that any invalidation (or reconnect) overtook a no-op.
 * Every copy is also re-read at least every NEAR_CACHE_MAX_AGE_MS. The writer's own change is dropped
 * locally at once (`forget`), so the instance that revoked a session never serves it again, invalidation or
 * not.
 *
 * `REDIS_NEAR_CACHE=false` turns it off: every lookup then asks Redis, as before.
 */
@Injectable()
export class NearCache implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(NearCache.name);
  private readonly entries = new Map<string, Entry>();
  private readonly prefixes = new Set<string>();
  private subscriber?: Redis;
  private subscribing?: Promise<void>;
  /** Subscribed with tracking on: copies may be served and kept. */
  private live = false;
  /** Bumped by every invalidation, forget and (re)subscription; a fill needs the ticket it read under. */
  private epoch = 0;

  constructor(private readonly config: AppConfig) {}

  /** Keys under `prefix` may be cached. Call at construction: tracking starts with the application. */
  track(prefix: string): void {
    this.prefixes.add(prefix);
  }

  /** The value Redis has, or undefined when no copy is here. */
  get(key: string): string | undefined {
    if (!this.live) return undefined;
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.until <= Date.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return entry.value;
  }

  /** Take before sending the read whose reply will be `fill`ed. */
  ticket(): number {
    return this.live ? this.epoch : -1;
  }

  /** Keeps `value` as read from Redis under `ticket`, unless something changed since. */
  fill(ticket: number, key: string, value: string): void {
    if (ticket !== this.epoch || !this.live || !this.tracks(key)) return;
    if (this.entries.size >= NEAR_CACHE_MAX_ENTRIES) {
      const now = Date.now();
      makeRoom(this.entries, NEAR_CACHE_MAX_ENTRIES, (entry) => entry.until <= now);
    }
    this.entries.delete(key);
    this.entries.set(key, { value, until: Date.now() + NEAR_CACHE_MAX_AGE_MS });
  }

  /** This process is about to change `key` in Redis: its copy, and any read in flight, no longer count. */
  forget(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.redis.nearCache || this.prefixes.size === 0) return;
    const subscriber = new Redis({
      ...redisOptionsFromUrl(this.config.redis.url),
      // Tracking must be switched on again (with the new connection's id) before subscribing: done on 'ready'.
      autoResubscribe: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 2000,
      lazyConnect: true,
      // Named in CLIENT LIST, for operators (and the tests that cut it).
      connectionName: `${this.config.redis.keyPrefix}near-cache`,
    });
    this.subscriber = subscriber;
    subscriber.on('messageBuffer', (channel: Buffer, message: unknown) => {
      if (channel.toString() === INVALIDATE_CHANNEL) this.invalidate(message);
    });
    subscriber.on('ready', () => {
      this.subscribing = this.subscribe(subscriber);
    });
    subscriber.on('close', () => this.drop());
    // Reconnects by itself (retryStrategy); the shared client logs the outage.
    subscriber.on('error', () => this.drop());
    // Serving from the first request on when Redis is there; without it the app starts all the same.
    await subscriber.connect().catch(() => undefined);
    await this.subscribing;
  }

  async onApplicationShutdown(): Promise<void> {
    const subscriber = this.subscriber;
    this.subscriber = undefined;
    this.drop();
    await subscriber?.quit().catch(() => subscriber.disconnect());
  }

  private async subscribe(subscriber: Redis): Promise<void> {
    try {
      const id = String(await subscriber.client('ID'));
      const prefixes = [...this.prefixes].flatMap((prefix) => ['PREFIX', prefix]);
      await subscriber.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', id, 'BCAST', ...prefixes);
      await subscriber.subscribe(INVALIDATE_CHANNEL);
      this.epoch++;
      this.live = subscriber === this.subscriber;
    } catch (error) {
      // Off (every lookup asks Redis) until the connection is made again; a Redis without tracking stays off.
      this.drop();
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(`Near cache off: Redis client tracking failed (${reason})`);
    }
  }

  private tracks(key: string): boolean {
    for (const prefix of this.prefixes) if (key.startsWith(prefix)) return true;
    return false;
  }

  private invalidate(message: unknown): void {
    this.epoch++;
    // A flush (FLUSHDB, FLUSHALL) names no keys.
    if (!Array.isArray(message)) {
      this.entries.clear();
      return;
    }
    for (const key of message) this.entries.delete(String(key));
  }

  private drop(): void {
    this.live = false;
    this.epoch++;
    this.entries.clear();
  }
}
