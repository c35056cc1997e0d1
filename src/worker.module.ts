import { Module, type DynamicModule } from '@nestjs/common';
import type { AppConfig } from './config/app.config';
import { ConfigModule } from './config/config.module';
import { CacheModule } from './core/cache/cache.module';
import { DatabaseModule } from './core/database/database.module';
import { LifecycleModule } from './core/lifecycle/lifecycle.module';
import { LoggingModule } from './core/logging/logging.module';
import { MailWorkerModule } from './core/mail/mail-worker.module';
import { JobOutboxRelayModule } from './core/queue/job-outbox-relay.module';
import { QueueModule } from './core/queue/queue.module';
import { RedisModule } from './core/redis/redis.module';
import { ScannerModule } from './core/scanner/scanner.module';
import { StorageModule } from './core/storage/storage.module';
import { AuditWorkerModule } from './modules/audit/audit-worker.module';
import { MediaWorkerModule } from './modules/media/media-worker.module';
import { CustomersWorkerModule } from './modules/customers/customers-worker.module';
import { PostsWorkerModule } from './modules/posts/posts-worker.module';
import { SystemWorkerModule } from './modules/system/system-worker.module';

/** Worker root: queue processors and schedulers, no HTTP server. */
@Module({})
export class WorkerModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: WorkerModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forWorker(),
        LifecycleModule,
        DatabaseModule.forRoot('atrium-worker', { migrateOnStart: false }),
        RedisModule,
        CacheModule,
        QueueModule,
        JobOutboxRelayModule,
        MailWorkerModule,
        SystemWorkerModule,
        AuditWorkerModule,
        CustomersWorkerModule,
        PostsWorkerModule,
        StorageModule,
        ScannerModule,
        MediaWorkerModule,
      ],
    };
  }
}
