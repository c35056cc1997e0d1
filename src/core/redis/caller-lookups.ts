import { Injectable, type ExecutionContext } from '@nestjs/common';

/** Whom a verified access token names: enough to key every per-caller lookup of the request. */
export interface Caller {
  userId: string;
  organizationId: string;
  sessionId: string;
}

/**
 * Starts a lookup for this request and returns at once; it keeps the pending result itself (keyed by the
 * request) for its guard or service to await later, and must never throw or leave a rejection unhandled:
 * the request may end before anyone awaits it (a revoked session is refused first).
 */
export type CallerLookup = (caller: Caller, context: ExecutionContext) => void;

/**
 * The Redis lookups of an authenticated request (session state, cached grants, the rate-limit counter)
 * belong to three guards that Nest runs one after the other, each awaiting its own lookup: three round trips
 * in sequence. The JWT guard instead starts them all here, in the same tick as its session lookup, the
 * moment the token is verified; the shared client auto-pipelines commands issued in one tick, so they reach
 * Redis in one write and come back together, and each guard then awaits a result already on its way.
 *
 * Modules register their lookup at construction; the order of registration does not matter.
 */
@Injectable()
export class CallerLookups {
  private readonly lookups: CallerLookup[] = [];

  register(lookup: CallerLookup): void {
    this.lookups.push(lookup);
  }

  startAll(caller: Caller, context: ExecutionContext): void {
    for (const lookup of this.lookups) lookup(caller, context);
  }
}
