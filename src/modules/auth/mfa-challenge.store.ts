import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { REDIS } from '../../core/redis/redis.module';
import { randomToken, sha256 } from '../../core/security/random-code';
import { AuthException, AuthExceptionCode } from './auth.exception';

/**
 * The `mfaToken` handed out after a correct password when 2FA is on: opaque, short-lived, good for one
 * completed 2FA login only. Kept in Redis by its hash; without Redis, 2FA logins fail closed (503).
 */
@Injectable()
export class MfaChallengeStore {
  constructor(
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
  ) {}

  private key(token: string): string {
    return `${this.config.redis.keyPrefix}mfa:${sha256(token)}`;
  }

  async create(userId: string): Promise<string> {
    const token = randomToken(32);
    await this.redis.set(this.key(token), userId, 'EX', this.config.auth.mfaTokenTtlSeconds).catch(() => {
      throw unavailable();
    });
    return token;
  }

  /** The user the token was issued for; it stays valid (until expiry) so a mistyped code can be retried. */
  async peek(token: string): Promise<string> {
    const userId = await this.redis.get(this.key(token)).catch(() => {
      throw unavailable();
    });
    if (!userId)
      throw new AuthException(AuthExceptionCode.InvalidMfaToken, 'The mfaToken is invalid or expired; log in again.');
    return userId;
  }

  /** Single use: only one caller can consume a token. */
  async consume(token: string): Promise<boolean> {
    const deleted = await this.redis.del(this.key(token)).catch(() => {
      throw unavailable();
    });
    return deleted === 1;
  }
}

function unavailable(): AuthException {
  return new AuthException(
    AuthExceptionCode.ServiceUnavailable,
    'Two-factor login is temporarily unavailable; try again.',
  );
}
