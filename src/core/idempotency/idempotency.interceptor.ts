import { Injectable, Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, defer, from, mergeMap, of, type Observable } from 'rxjs';
import { clientBucketAddress } from '../rate-limit/client-address';
import { IdempotencyException } from './idempotency.exception';
import { IdempotencyStore, type IdempotencyClaim } from './idempotency.store';
import { IDEMPOTENT_REPLAYED_HEADER, isValidIdempotencyKey, requestHash } from './request-fingerprint';

/** Node lower-cases incoming header names. */
const KEY_HEADER = 'idempotency-key';

/**
 * Makes an @Idempotent route safe to retry. With an `Idempotency-Key` header, the first request claims the
 * key (one row in idempotency_keys), runs the handler and stores its status and body; a retry with the same
 * key and the same request gets that response again (`Idempotent-Replayed: true`) without running the
 * handler. The same key with another body or route params is a 422, and a retry while the first request
 * is still running a 409 with Retry-After. A handler that fails releases the key, so the client can retry.
 *
 * Keys are scoped to the caller (organization + user, or the client IP when anonymous) and to the route
 * (method + template): two users, or two routes, never share a key.
 *
 * Route-scoped (DESIGN.md §4): without the header it costs one header read. It runs after the guards (a
 * request that is not authenticated or not allowed never claims a key) and before the pipes, so a request
 * that fails validation releases its key like any other failure.
 */
@Injectable()
export class IdempotencyInterceptor implements NestInterceptor {
  private readonly logger = new Logger(IdempotencyInterceptor.name);

  constructor(private readonly store: IdempotencyStore) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const key = request.headers[KEY_HEADER];
    if (key === undefined) return next.handle();
    if (!isValidIdempotencyKey(key)) throw IdempotencyException.invalidKey();

    const reply = context.switchToHttp().getResponse<FastifyReply>();
    const scope = scopeOf(request);
    const hash = requestHash(request.params, request.body);
    return from(this.store.claim(scope, key, hash)).pipe(
      mergeMap((result) => {
        if ('claimed' in result) return this.run(next, reply, scope, key, result.claimed);
        const existing = result.existing;
        if (existing.requestHash !== hash) throw IdempotencyException.reused();
        if (existing.status === 'in_progress') throw IdempotencyException.inProgress();
        void reply.status(existing.responseStatus).header(IDEMPOTENT_REPLAYED_HEADER, 'true');
        return of(existing.responseBody);
      }),
    );
  }

  private run(
    next: CallHandler,
    reply: FastifyReply,
    scope: string,
    key: string,
    claim: IdempotencyClaim,
  ): Observable<unknown> {
    return defer(() => next.handle()).pipe(
      mergeMap(async (body: unknown) => {
        try {
          const stored = await this.store.complete(scope, key, claim, reply.statusCode, body);
          if (!stored) this.logger.warn({ scope }, 'idempotency key was taken over before its response was stored');
        } catch (error) {
          // The handler's change is committed: answer it. The key stays in progress until its lock expires.
          this.logger.error({ err: error, scope }, 'idempotent response could not be stored');
        }
        return body;
      }),
      catchError(async (error: unknown) => {
        try {
          await this.store.release(scope, key, claim);
        } catch (releaseError) {
          this.logger.error({ err: releaseError, scope }, 'idempotency key could not be released');
        }
        throw error;
      }),
    );
  }
}

/** Whose keys these are and for which route: `org:user` (or `ip:address`), method and route template. */
function scopeOf(request: FastifyRequest): string {
  const caller = request.user
    ? `user:${request.user.organizationId}:${request.user.id}`
    : `ip:${clientBucketAddress(request.ip || 'unknown')}`;
  return `${caller} ${request.method} ${request.routeOptions.url ?? request.url.split('?')[0]}`;
}
