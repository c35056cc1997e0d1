import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { CallerLookups } from './caller-lookups';
import { NearCache } from './near-cache';
import { RedisAvailability } from './redis-availability';
import { redisOptionsFromUrl } from './redis-connection';
import { REDIS } from './redis.tokens';

export { REDIS };

/**
 * One shared ioredis client for request-path commands (health, rate limits, sessions). Commands fail fast
 * while Redis is down (no offline queue) so callers can decide to fall back or fail closed;
 * RedisAvailability tells them whether it is up and when it came back from an outage.
 *
 * Nothing on this client blocks (no BLPOP, no SUBSCRIBE): its commands answer in the order sent, and a
 * blocking one would hold up every request behind it.
 */
@Global()
@Module({
  providers: [
    {
      provide: REDIS,
      inject: [AppConfig],
      useFactory: (config: AppConfig): Redis => {
        const logger = new Logger('Redis');
        const client = new Redis({
          ...redisOptionsFromUrl(config.redis.url),
          enableOfflineQueue: false,
          // Not auto-pipelined: an authenticated request's lookups are one script call (CallerLookups), and
          // requests arrive in ticks of their own, so auto-pipelining wrapped nearly every command in a
          // Pipeline of its own (an object, a promise and a nextTick each): in an A/B on /bench/permitted it
          // cost 9–26 % more API CPU per request than sending the command directly.
          enableAutoPipelining: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2000,
          // A hung Redis must fail a command quickly (rate limits, sessions fall back), not hold the request.
          commandTimeout: 500,
        });
        let healthy = true;
        client.on('error', (error: Error) => {
          if (healthy) logger.warn(`Redis unavailable: ${error.message}`);
          healthy = false;
        });
        client.on('ready', () => {
          if (!healthy) logger.log('Redis connection restored');
          healthy = true;
        });
        return client;
      },
    },
    RedisAvailability,
    CallerLookups,
    NearCache,
  ],
  exports: [REDIS, RedisAvailability, CallerLookups, NearCache],
})
export class RedisModule implements OnApplicationShutdown {
  constructor(@Inject(REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
