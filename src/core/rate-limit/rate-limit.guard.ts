import { Injectable, Logger, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app.config';
import { replyOf, requestOf } from '../http/http-context';
import { CallerLookups, type Caller, type LookupCall } from '../redis/caller-lookups';
import { RedisAvailability } from '../redis/redis-availability';
import { BatchedCounts, slackOf } from './batched-counts';
import { clientBucketAddress } from './client-address';
import { LocalRateLimiter } from './local-rate-limiter';
import { RATE_LIMIT_METADATA, type RateLimitSpec } from './rate-limit.decorator';
import { RateLimitException } from './rate-limit.exception';
import { HIT_PART, RateLimitStorage, toHit, type RateLimitHit } from './rate-limit.storage';

/** A limit as enforced: the declared spec with the configured numbers filled in. */
interface RateLimitPolicy {
  /** Policy name in the RateLimit headers: `default`, `auth` or `route` (a `@RateLimit` override). */
  name: string;
  max: number;
  windowMs: number;
  byUser: boolean;
  failClosed: boolean;
  /** `RateLimit-Policy` value; fixed per route, so built once. */
  policyHeader: string;
  /** Hits this process may hold back (BatchedCounts); 0 for auth, fail-closed and small limits. */
  slack: number;
}

/** Set by the JWT guard, which runs before this one; only the id is read here. */
type TrackedRequest = FastifyRequest & { user?: { id?: unknown } };

/** A count the JWT guard started together with its session lookup (CallerLookups), for this guard to await. */
interface StartedHit {
  bucket: string;
  hit: Promise<RateLimitHit>;
  /** Hits it adds (BatchedCounts.take). */
  sent: number;
}

/** This guard's part of the JWT guard's script: the counter of `bucket`. */
type HitCall = LookupCall & { bucket: string; request: FastifyRequest; sent: number };

/**
 * Counts every request of a limited route in Redis and answers 429 problem+json once a tracker (the
 * authenticated user, else the client IP) exceeds the route's limit. Registered globally (APP_GUARD) after
 * the JWT guard, so `request.user` is already set.
 *
 * Every limited response carries `RateLimit-Policy` and `RateLimit` as defined by
 * draft-ietf-httpapi-ratelimit-headers (`"default";q=300;w=60` and `"default";r=297;t=42`; the older
 * `RateLimit-Limit/-Remaining/-Reset` trio is not sent); a 429 adds `Retry-After` (seconds).
 *
 * The client IP is Fastify's `request.ip`: X-Forwarded-For counts only when sent by a proxy TRUST_PROXY
 * trusts, so clients cannot pick a fresh bucket by sending the header themselves.
 *
 * Per-request cost (DESIGN.md §4): the policy of a handler is resolved once and cached; then, far from the
 * limit, a count in this process (BatchedCounts: hits go to Redis in batches every RATE_LIMIT_BATCH_MS, and
 * every hit again near the limit; auth and small limits always every hit) and two headers. A hit counted in
 * Redis is one command; on an authenticated request whose session is not known in this process it is part of
 * the JWT guard's one script call with the session lookup (CallerLookups), and this guard awaits its reply.
 * Such a request is counted even when its session turns out to be revoked (it is refused with 401 all the
 * same).
 *
 * While Redis is unreachable, requests are counted by a LocalRateLimiter in this process with the same
 * policy: limits never disappear (each instance enforces them on its own, see LocalRateLimiter). Only a
 * route declared `@RateLimit({ failClosed: true })` answers 503 instead. Once Redis answers again, it counts.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly logger = new Logger(RateLimitGuard.name);
  /** Controller class -> handler -> policy (`null` = not limited). Keyed by both: a handler inherited by
   * two controllers may carry different class-level limits. */
  private readonly policies = new Map<object, Map<object, RateLimitPolicy | null>>();
  private readonly local = new LocalRateLimiter();
  private readonly batched: BatchedCounts;
  private readonly started = new WeakMap<FastifyRequest, StartedHit>();
  private storageFailing = false;

  constructor(
    private readonly reflector: Reflector,
    private readonly storage: RateLimitStorage,
    private readonly config: AppConfig,
    private readonly redis: RedisAvailability,
    lookups: CallerLookups,
  ) {
    this.batched = new BatchedCounts(config.rateLimit.batchMs, (bucket, hits, windowMs) =>
      storage.hit(bucket, windowMs, hits),
    );
    lookups.register<HitCall>({
      part: HIT_PART,
      plan: (caller, context) => this.plan(caller, context),
      started: (reply, call) => {
        const hit = reply.then(toHit);
        // canActivate awaits it and falls back on failure; when the JWT guard refuses the request, nobody does.
        hit.catch(() => undefined);
        this.started.set(call.request, { bucket: call.bucket, hit, sent: call.sent });
      },
    });
  }

  // Not async: Nest goes on to the next guard without awaiting a plain boolean (an unlimited route).
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const policy = this.policyFor(context);
    if (!policy) return true;
    return this.limit(context, policy);
  }

  private limit(context: ExecutionContext, policy: RateLimitPolicy): boolean | Promise<boolean> {
    const request = requestOf<TrackedRequest>(context);
    const reply = replyOf(context);
    const bucket = bucketOf(request, policy, request.user?.id);
    const started = this.started.get(request);
    if (started) this.started.delete(request);
    if (started?.bucket === bucket)
      return this.count(bucket, policy, started).then((hit) => this.answer(reply, policy, hit));
    const hit = this.redis.isUp && !this.storageFailing ? this.batched.hit(bucket, policy) : null;
    if (hit) return this.answer(reply, policy, hit);
    return this.count(bucket, policy).then((counted) => this.answer(reply, policy, counted));
  }

  private answer(reply: FastifyReply, policy: RateLimitPolicy, { count, msToReset }: RateLimitHit): boolean {
    const resetSeconds = Math.max(1, Math.ceil(msToReset / 1000));
    const remaining = Math.max(0, policy.max - count);
    void reply
      .header('ratelimit-policy', policy.policyHeader)
      .header('ratelimit', `"${policy.name}";r=${remaining};t=${resetSeconds}`);
    if (count > policy.max) {
      void reply.header('retry-after', String(resetSeconds));
      throw RateLimitException.exceeded(resetSeconds);
    }
    return true;
  }

  /** The CallerLookup: counts the request of a verified caller in the JWT guard's script (CallerLookups). */
  private plan(caller: Caller, context: ExecutionContext): HitCall | null {
    if (context.getType() !== 'http' || !this.redis.isUp) return null;
    const policy = this.policyFor(context);
    if (!policy) return null;
    const request = requestOf<TrackedRequest>(context);
    const bucket = bucketOf(request, policy, caller.userId);
    const sent = this.batched.take(bucket);
    return { keys: [this.storage.keyOf(bucket)], args: [policy.windowMs, sent], bucket, request, sent };
  }

  /** Counts in Redis; while Redis is down (known, or this call fails) in this process instead. */
  private async count(bucket: string, policy: RateLimitPolicy, started?: StartedHit): Promise<RateLimitHit> {
    if (started || this.redis.isUp) {
      try {
        const sent = started?.sent ?? this.batched.take(bucket);
        const hit = await (started?.hit ?? this.storage.hit(bucket, policy.windowMs, sent));
        this.batched.counted(bucket, policy, hit, sent);
        if (this.storageFailing) {
          this.storageFailing = false;
          this.local.clear();
          this.logger.log('Rate limits are counted in Redis again');
        }
        return hit;
      } catch (error) {
        return this.countLocally(bucket, policy, error);
      }
    }
    return this.countLocally(bucket, policy, new Error('Redis is not connected'));
  }

  /**
   * Redis is down. A limit that only protects capacity could fail open, and one that stops guessing
   * (`@AuthRateLimit`) could fail closed, but either way an outage of a cache would change what clients may
   * do: unlimited attempts, or nobody able to log in or refresh a token. Counting in this process keeps the
   * same limits per instance; account lockout (in PostgreSQL) still bounds guesses per account whatever the
   * number of instances. A route may still opt into refusing (`failClosed`).
   */
  private countLocally(bucket: string, policy: RateLimitPolicy, error: unknown): RateLimitHit {
    if (!this.storageFailing) {
      this.storageFailing = true;
      this.batched.clear();
      const reason = error instanceof Error ? error.message : String(error);
      this.logger.warn(`Rate limits cannot be counted in Redis (${reason}); counting in this process meanwhile`);
    }
    if (policy.failClosed) throw RateLimitException.unavailable();
    return this.local.hit(bucket, policy.windowMs);
  }

  private policyFor(context: ExecutionContext): RateLimitPolicy | null {
    const controller = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.policies.get(controller);
    if (!byHandler) {
      byHandler = new Map();
      this.policies.set(controller, byHandler);
    }
    let policy = byHandler.get(handler);
    if (policy === undefined) {
      const spec = this.reflector.getAllAndOverride<RateLimitSpec | undefined>(RATE_LIMIT_METADATA, [
        handler,
        controller,
      ]);
      policy = this.resolve(spec);
      byHandler.set(handler, policy);
    }
    return policy;
  }

  private resolve(spec: RateLimitSpec | undefined): RateLimitPolicy | null {
    const { max, authMax, windowSeconds } = this.config.rateLimit;
    if (!spec) return makePolicy('default', max, windowSeconds, true, false);
    switch (spec.kind) {
      case 'skip':
        return null;
      case 'auth':
        return makePolicy('auth', authMax, windowSeconds, false, false);
      case 'route':
        return makePolicy(
          'route',
          spec.max,
          spec.windowSeconds ?? windowSeconds,
          (spec.key ?? 'user') === 'user',
          spec.failClosed ?? false,
        );
    }
  }
}

/** Whom a request counts against: the user when the policy says so and one is known, else the client IP. */
function bucketOf(request: FastifyRequest, policy: RateLimitPolicy, userId: unknown): string {
  const tracker =
    policy.byUser && typeof userId === 'string' && userId
      ? `user:${userId}`
      : `ip:${clientBucketAddress(request.ip || 'unknown')}`;
  // The route template (not the URL), so /customers/1 and /customers/2 share one bucket.
  return `${request.method}:${request.routeOptions.url ?? ''}:${tracker}`;
}

function makePolicy(name: string, max: number, windowSeconds: number, byUser: boolean, failClosed: boolean) {
  return {
    name,
    max,
    windowMs: windowSeconds * 1000,
    byUser,
    failClosed,
    policyHeader: `"${name}";q=${max};w=${windowSeconds}`,
    // Limits that stop guessing, or must fail closed, are counted hit by hit.
    slack: name === 'auth' || failClosed ? 0 : slackOf(max),
  } satisfies RateLimitPolicy;
}
