import { BullModule, getQueueToken } from '@nestjs/bullmq';
import { Global, Logger, Module, type OnModuleInit } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { Queue } from 'bullmq';
import { AppConfig } from '../../config/app.config';
import { redisOptionsFromUrl } from '../redis/redis-connection';
import { ALL_QUEUES } from './queue-names';

const queues = ALL_QUEUES.map((name) => BullModule.registerQueue({ name }));

/**
 * BullMQ over the shared Redis connection settings, under `${REDIS_KEY_PREFIX}bull`. Registers every queue
 * so the API can enqueue; processors live in the feature modules and only the worker app loads them.
 */
@Global()
@Module({
  imports: [
    BullModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({
        connection: redisOptionsFromUrl(config.redis.url),
        prefix: `${config.redis.keyPrefix}bull`,
        defaultJobOptions: {
          attempts: 5,
          backoff: { type: 'exponential', delay: 1000 },
          removeOnComplete: { age: 24 * 3600, count: 1000 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      }),
    }),
    ...queues,
  ],
  exports: queues,
})
export class QueueModule implements OnModuleInit {
  private readonly logger = new Logger('Queue');

  constructor(private readonly moduleRef: ModuleRef) {}

  onModuleInit(): void {
    // Without a listener an 'error' event (Redis down) would crash the process.
    for (const name of ALL_QUEUES) {
      const queue = this.moduleRef.get<Queue>(getQueueToken(name), { strict: false });
      let healthy = true;
      queue.on('error', (error) => {
        if (healthy) this.logger.warn(`queue ${queue.name} unavailable: ${error.message}`);
        healthy = false;
      });
    }
  }
}
