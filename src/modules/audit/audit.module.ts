import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MetricsModule } from '../../core/metrics/metrics.module';
import { AuditChainer } from './audit-chainer';
import { AuditExportService } from './audit-export.service';
import { AuditLogRepository } from './audit-log.repository';
import { AuditPartitionsService } from './audit-partitions.service';
import { AuditQueryService } from './audit-query.service';
import { AuditVerifyService } from './audit-verify.service';
import { AuditController } from './audit.controller';
import { AuditMetrics } from './audit.metrics';
import { AuditEventsListener } from './audit-events.listener';
import { AuditLog } from './audit-log.entity';
import { AuditInterceptor } from './audit.interceptor';
import { AuditService } from './audit.service';

/** The audit trail: recording (API side) and reading it. */
@Global()
@Module({
  imports: [TypeOrmModule.forFeature([AuditLog]), MetricsModule],
  controllers: [AuditController],
  providers: [
    AuditService,
    AuditChainer,
    AuditInterceptor,
    AuditEventsListener,
    AuditLogRepository,
    AuditQueryService,
    AuditExportService,
    AuditVerifyService,
    AuditPartitionsService,
    AuditMetrics,
  ],
  exports: [AuditService, AuditChainer, AuditInterceptor],
})
export class AuditModule {}
