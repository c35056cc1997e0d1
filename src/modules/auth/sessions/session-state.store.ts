import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { Redis } from 'ioredis';
import type { Repository } from 'typeorm';
import { AppConfig } from '../../../config/app.config';
import type { LookupCall, LookupPart } from '../../../core/redis/caller-lookups';
import { NearCache } from '../../../core/redis/near-cache';
import { RedisAvailability } from '../../../core/redis/redis-availability';
import { REDIS } from '../../../core/redis/redis.module';
import { Session } from './session.entity';

export type SessionState = 'active' | 'mfa-setup' | 'revoked';

// An active state is trusted from Redis for at most this long; a revocation overwrites it at once.
const ACTIVE_TTL_SECONDS = 60;

/** The session's cached state: the JWT guard's own part of the per-request script (CallerLookups). */
export const SESSION_STATE_PART: LookupPart = {
  lua: "return redis.call('GET', KEYS[1])",
  keys: 1,
  args: 0,
  alone: (redis, [key]) => redis.get(key),
};

/**
 * What the JWT guard asks on every request: is this session still alive? Answered from Redis (shared by
 * every API instance, so a revocation is seen everywhere at once), falling back to PostgreSQL, the durable
 * copy, on a miss or while Redis is down — it never answers "active" without having checked one of them, and
 * when neither answers the lookup fails (the request gets 503, never access).
 *
 * A revocation while Redis is unreachable reaches PostgreSQL only; the "active" entry cached before may
 * still be in Redis when it comes back (partition healed, restart from RDB/AOF). So after an outage this
 * process saw, cached "active" entries are not trusted for their whole lifetime (ACTIVE_TTL_SECONDS), and the
 * missed revocations are written as soon as Redis is back (RedisAvailability).
 *
 * A warm lookup does not reach Redis: the state Redis answered is kept in this process (NearCache), and Redis
 * tells every instance the moment the key changes, so a revocation through any instance reaches the others
 * as Redis applies it (and this instance's own at once).
 */
@Injectable()
export class SessionStateStore {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly config: AppConfig,
    private readonly availability: RedisAvailability,
    private readonly near: NearCache,
  ) {
    near.track(this.key(''));
  }

  private key(sessionId: string): string {
    return `${this.config.redis.keyPrefix}session:${sessionId}`;
  }

  /** The state on its own (near copy, else one GET); the JWT guard reads it in its per-request script instead. */
  get(sessionId: string): Promise<SessionState> {
    const known = this.known(sessionId);
    if (known) return Promise.resolve(known);
    const ticket = this.near.ticket();
    return this.resolve(sessionId, this.redis.get(this.key(sessionId)), ticket);
  }

  /**
   * The state as this process knows it without asking anyone (NearCache), or undefined. Trusted as the Redis
   * answer it copies is: a live state not right after an outage.
   */
  known(sessionId: string): SessionState | undefined {
    return this.trusted(this.near.get(this.key(sessionId)));
  }

  /**
   * A state read from Redis (or its near copy) as far as it may be believed: "revoked" is final, a live state
   * may be stale right after an outage (see above).
   */
  private trusted(value: unknown): SessionState | undefined {
    if (value === 'revoked') return value;
    if ((value === 'active' || value === 'mfa-setup') && !this.availability.distrusts(ACTIVE_TTL_SECONDS * 1000)) {
      return value;
    }
    return undefined;
  }

  /** Take before sending SESSION_STATE_PART; pass to `resolve`. */
  ticket(): number {
    return this.near.ticket();
  }

  /** Keys of SESSION_STATE_PART for this session. */
  lookupCall(sessionId: string): LookupCall {
    return { keys: [this.key(sessionId)], args: [] };
  }

  /**
   * The state, given what Redis holds for the session (`pending`: the GET's reply, which rejects when Redis did
   * not answer; `ticket` taken before it was sent): trusted when it may be, else read from PostgreSQL and
   * cached.
   */
  async resolve(sessionId: string, pending: Promise<unknown>, ticket: number): Promise<SessionState> {
    let cached: unknown = null;
    try {
      cached = await pending;
    } catch {
      // Redis did not answer: PostgreSQL does.
    }
    if (cached === 'revoked' || cached === 'active' || cached === 'mfa-setup') {
      this.near.fill(ticket, this.key(sessionId), cached);
    }
    const trusted = this.trusted(cached);
    if (trusted) return trusted;
    const session = await this.sessions.findOne({
      where: { id: sessionId },
      select: { id: true, revokedAt: true, expiresAt: true, mfaSetupRequired: true },
    });
    const state: SessionState =
      !session || session.revokedAt || session.expiresAt.getTime() <= Date.now()
        ? 'revoked'
        : session.mfaSetupRequired
          ? 'mfa-setup'
          : 'active';
    await this.put(sessionId, state);
    return state;
  }

  async put(sessionId: string, state: SessionState): Promise<void> {
    this.near.forget(this.key(sessionId));
    if (state === 'revoked') {
      // Stays marked for as long as any access token issued for the session could still verify.
      const write = () => this.redis.set(this.key(sessionId), state, 'EX', this.config.jwt.accessTtlSeconds + 60);
      await write().catch(() => this.availability.replayWhenBack(this.key(sessionId), write));
      return;
    }
    // NX: a lookup that read "active" from PostgreSQL just before a revocation must not overwrite it.
    await this.redis.set(this.key(sessionId), state, 'EX', ACTIVE_TTL_SECONDS, 'NX').catch(() => undefined);
  }

  /** Replaces a cached state unconditionally (2FA setup finished: mfa-setup becomes active). */
  async replace(sessionId: string, state: Exclude<SessionState, 'revoked'>): Promise<void> {
    this.near.forget(this.key(sessionId));
    await this.redis.set(this.key(sessionId), state, 'EX', ACTIVE_TTL_SECONDS).catch(() => undefined);
  }

  async markRevoked(sessionIds: string[]): Promise<void> {
    await Promise.all(sessionIds.map((id) => this.put(id, 'revoked')));
  }
}
