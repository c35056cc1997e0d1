import KeyvRedis from '@keyv/redis';
import { CacheModule as NestCacheModule } from '@nestjs/cache-manager';
import { Global, Inject, Logger, Module, type OnApplicationShutdown } from '@nestjs/common';
import { CACHE_MANAGER } from '@nestjs/cache-manager';
import type { Cache } from 'cache-manager';
import { Keyv } from 'keyv';
import { AppConfig } from '../../config/app.config';

/**
 * The shared cache (cache-manager 7 over Keyv + Redis), under `${REDIS_KEY_PREFIX}cache:`.
 * While Redis is down, reads miss and writes are dropped instead of hanging: no offline queue, no throws;
 * each operation waits at most 250 ms for a connection.
 */
@Global()
@Module({
  imports: [
    NestCacheModule.registerAsync({
      isGlobal: true,
      inject: [AppConfig],
      useFactory: (config: AppConfig) => {
        const logger = new Logger('Cache');
        const store = new KeyvRedis(
          {
            url: config.redis.url,
            disableOfflineQueue: true,
            socket: { connectTimeout: 2000, reconnectStrategy: (retries: number) => Math.min(retries * 200, 5000) },
          },
          {
            namespace: `${config.redis.keyPrefix}cache`,
            keyPrefixSeparator: ':',
            throwOnConnectError: false,
            connectionTimeout: 250,
          },
        );
        // Keyv's own namespace wins over the store's: without it every key would land under 'keyv:'.
        const keyv = new Keyv({
          store,
          namespace: `${config.redis.keyPrefix}cache`,
          useKeyPrefix: false,
          throwOnErrors: false,
        });
        let healthy = true;
        keyv.on('error', (error: Error) => {
          if (healthy) logger.warn(`cache unavailable, falling through: ${error.message}`);
          healthy = false;
        });
        store.on('connect', () => {
          healthy = true;
        });
        // cache-manager (ESM) types name keyv's ESM build; this CJS project holds the CJS build of the same class.
        return { stores: [keyv as never], ttl: config.redis.cacheTtlSeconds * 1000 };
      },
    }),
  ],
})
export class CacheModule implements OnApplicationShutdown {
  constructor(@Inject(CACHE_MANAGER) private readonly cache: Cache) {}

  async onApplicationShutdown(): Promise<void> {
    // The Redis client reconnects forever while open; a closed app must not keep the process alive.
    await this.cache.disconnect().catch(() => undefined);
  }
}
