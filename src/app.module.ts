import { Module, type DynamicModule, type Type } from '@nestjs/common';
import type { AppConfig } from './config/app.config';
import { ConfigModule } from './config/config.module';
import { CacheModule } from './core/cache/cache.module';
import { DatabaseModule } from './core/database/database.module';
import { LifecycleModule } from './core/lifecycle/lifecycle.module';
import { LoggingModule } from './core/logging/logging.module';
import { MetricsModule } from './core/metrics/metrics.module';
import { PaginationModule } from './core/pagination/pagination.module';
import { QueueModule } from './core/queue/queue.module';
import { RedisModule } from './core/redis/redis.module';
import { HealthModule } from './modules/health/health.module';
import { SystemModule } from './modules/system/system.module';

/**
 * API root. Global guards (authentication, then permissions) and the audit interceptor for mutations are
 * added here as APP_GUARD / route-scoped interceptors by the auth, RBAC and audit modules.
 */
@Module({})
export class AppModule {
  /** `extraModules`: test fixtures only (routes that exercise the pipeline). */
  static forRoot(config: AppConfig, extraModules: Type[] = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forApi(),
        LifecycleModule,
        DatabaseModule.forRoot('atrium-api', { migrateOnStart: true }),
        RedisModule,
        CacheModule,
        QueueModule,
        MetricsModule,
        PaginationModule,
        HealthModule,
        SystemModule,
        ...extraModules,
      ],
    };
  }
}
