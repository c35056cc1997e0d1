import { Module } from '@nestjs/common';
import { RateLimitGuard } from './rate-limit.guard';
import { RateLimitStorage } from './rate-limit.storage';

/**
 * Rate limits for every route (RATE_LIMIT_MAX per RATE_LIMIT_WINDOW_SECONDS per route and user, per client IP
 * when anonymous), overridden with `@RateLimit()`, `@AuthRateLimit()` and `@SkipRateLimit()`.
 *
 * The root module registers the exported guard as a global guard right after the JWT guard
 * (`{ provide: APP_GUARD, useExisting: RateLimitGuard }`): it reads the `request.user` that guard sets, and
 * global guards run in registration order. This module registers none itself, so importing it twice can
 * never count a request twice.
 */
@Module({
  providers: [RateLimitStorage, RateLimitGuard],
  exports: [RateLimitGuard, RateLimitStorage],
})
export class RateLimitModule {}
