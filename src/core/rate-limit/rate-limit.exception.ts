import { AppException } from '../exceptions/app.exception';

export enum RateLimitExceptionCode {
  RateLimited = 'rate-limited',
  /** Redis is unreachable on a route that refuses rather than count in-process (`@RateLimit({ failClosed })`). */
  Unavailable = 'rate-limit-unavailable',
}

const STATUS: Record<RateLimitExceptionCode, number> = {
  [RateLimitExceptionCode.RateLimited]: 429,
  [RateLimitExceptionCode.Unavailable]: 503,
};

export class RateLimitException extends AppException {
  constructor(code: RateLimitExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, STATUS[code], message, extensions);
  }

  static exceeded(retryAfterSeconds: number): RateLimitException {
    return new RateLimitException(
      RateLimitExceptionCode.RateLimited,
      `Too many requests; retry after ${retryAfterSeconds} s.`,
      { retryAfterSeconds },
    );
  }

  static unavailable(): RateLimitException {
    return new RateLimitException(
      RateLimitExceptionCode.Unavailable,
      'Request limits cannot be checked right now, so this route is refused; retry later.',
    );
  }
}
