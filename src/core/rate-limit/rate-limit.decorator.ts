import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiResponse, getSchemaPath } from '@nestjs/swagger';

/** Whom a bucket counts: `user` = the authenticated user, else the client IP; `ip` = always the client IP. */
export type RateLimitKey = 'ip' | 'user';

export interface RateLimitOptions {
  /** Requests allowed per window for one tracker (user or client IP) on one route. */
  max: number;
  /** Window length in seconds; defaults to RATE_LIMIT_WINDOW_SECONDS. */
  windowSeconds?: number;
  /** Defaults to `user`. */
  key?: RateLimitKey;
  /**
   * Refuse the request (503) while Redis is unreachable, instead of counting it in this process (the
   * default, which keeps the limit per API instance). For a route whose limit must hold across instances.
   */
  failClosed?: boolean;
}

/** What a route or controller declares; the guard turns it into a policy with the configured numbers. */
export type RateLimitSpec = { kind: 'skip' } | { kind: 'auth' } | ({ kind: 'route' } & RateLimitOptions);

export const RATE_LIMIT_METADATA = 'atrium:rate-limit';

const PROBLEM = { 'application/problem+json': { schema: { $ref: getSchemaPath('ProblemDocumentDto') } } };

const RATE_LIMIT_HEADERS = {
  'Retry-After': { description: 'Seconds until the window resets', schema: { type: 'integer', example: 42 } },
  RateLimit: {
    description: 'Current service limit (draft-ietf-httpapi-ratelimit-headers): remaining requests r, reset in t s',
    schema: { type: 'string', example: '"default";r=0;t=42' },
  },
  'RateLimit-Policy': {
    description: 'Quota policy (draft-ietf-httpapi-ratelimit-headers): q requests per w seconds',
    schema: { type: 'string', example: '"default";q=300;w=60' },
  },
};

const ApiRateLimited = (): MethodDecorator & ClassDecorator =>
  ApiResponse({
    status: 429,
    description: 'Rate limited; retry after Retry-After seconds',
    headers: RATE_LIMIT_HEADERS,
    content: PROBLEM,
  });

const ApiLimitsUnavailable = (): MethodDecorator & ClassDecorator =>
  ApiResponse({
    status: 503,
    description: 'Request limits cannot be checked right now; retry later',
    content: PROBLEM,
  });

function assertPositiveInteger(name: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 1)) {
    throw new Error(`@RateLimit(): ${name} must be a positive integer, got ${value}`);
  }
}

/**
 * Overrides the default limit (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_SECONDS, per user or client IP) for one
 * route or every route of a controller; a method's decorator wins over its controller's.
 */
export function RateLimit(options: RateLimitOptions): MethodDecorator & ClassDecorator {
  assertPositiveInteger('max', options.max);
  assertPositiveInteger('windowSeconds', options.windowSeconds);
  const spec: RateLimitSpec = { kind: 'route', ...options };
  if (!options.failClosed) return applyDecorators(SetMetadata(RATE_LIMIT_METADATA, spec), ApiRateLimited());
  return applyDecorators(SetMetadata(RATE_LIMIT_METADATA, spec), ApiRateLimited(), ApiLimitsUnavailable());
}

/**
 * The strict limit for authentication routes (login, OTP, refresh, password reset): RATE_LIMIT_AUTH_MAX per
 * RATE_LIMIT_WINDOW_SECONDS per client IP, whoever is logged in. While Redis is down each API instance counts
 * it in memory (RateLimitGuard): logins keep working and guessing stays limited.
 */
export function AuthRateLimit(): MethodDecorator & ClassDecorator {
  const spec: RateLimitSpec = { kind: 'auth' };
  return applyDecorators(SetMetadata(RATE_LIMIT_METADATA, spec), ApiRateLimited());
}

/** No rate limit (health probes, metrics scrapes); a method's decorator wins over its controller's. */
export function SkipRateLimit(): MethodDecorator & ClassDecorator {
  const spec: RateLimitSpec = { kind: 'skip' };
  return SetMetadata(RATE_LIMIT_METADATA, spec);
}
