import { Module, type DynamicModule, type Type } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import type { AppConfig } from './config/app.config';
import { ConfigModule } from './config/config.module';
import { CacheModule } from './core/cache/cache.module';
import { DatabaseModule } from './core/database/database.module';
import { IdempotencyModule } from './core/idempotency/idempotency.module';
import { LifecycleModule } from './core/lifecycle/lifecycle.module';
import { LoggingModule } from './core/logging/logging.module';
import { MailModule } from './core/mail/mail.module';
import { MetricsModule } from './core/metrics/metrics.module';
import { PaginationModule } from './core/pagination/pagination.module';
import { QueueModule } from './core/queue/queue.module';
import { RateLimitGuard } from './core/rate-limit/rate-limit.guard';
import { RateLimitModule } from './core/rate-limit/rate-limit.module';
import { RedisModule } from './core/redis/redis.module';
import { SecurityModule } from './core/security/security.module';
import { StorageModule } from './core/storage/storage.module';
import { AuditModule } from './modules/audit/audit.module';
import { AuthModule } from './modules/auth/auth.module';
import { CustomersModule } from './modules/customers/customers.module';
import { CustomersExtrasModule } from './modules/customers/customers-extras.module';
import { JwtAuthGuard } from './modules/auth/jwt-auth.guard';
import { HealthModule } from './modules/health/health.module';
import { LocalStorageModule } from './modules/media/local-storage.module';
import { MediaModule } from './modules/media/media.module';
import { OrganizationsApiModule } from './modules/organizations/organizations-api.module';
import { PostsModule } from './modules/posts/posts.module';
import { PermissionGuard } from './modules/rbac/decision/permission.guard';
import { RbacModule } from './modules/rbac/rbac.module';
import { SystemModule } from './modules/system/system.module';
import { UsersApiModule } from './modules/users/users-api.module';

/**
 * API root. Global guards run in the order listed: authentication (JwtAuthGuard, which sets request.user),
 * rate limiting (per user, per IP when anonymous; denied requests count too), then permissions
 * (@RequirePermission). Mutations are audited by their services or by the route-scoped AuditInterceptor (@Audited).
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
        EventEmitterModule.forRoot(),
        LifecycleModule,
        DatabaseModule.forRoot('atrium-api', { migrateOnStart: true }),
        RedisModule,
        CacheModule,
        QueueModule,
        MailModule,
        SecurityModule,
        RateLimitModule,
        MetricsModule,
        PaginationModule,
        HealthModule,
        AuditModule,
        RbacModule,
        AuthModule,
        OrganizationsApiModule,
        UsersApiModule,
        CustomersModule,
        SystemModule,
        IdempotencyModule,
        CustomersExtrasModule,
        PostsModule,
        StorageModule,
        LocalStorageModule,
        MediaModule,
        ...extraModules,
      ],
      providers: [
        { provide: APP_GUARD, useExisting: JwtAuthGuard },
        { provide: APP_GUARD, useExisting: RateLimitGuard },
        { provide: APP_GUARD, useExisting: PermissionGuard },
      ],
    };
  }
}
