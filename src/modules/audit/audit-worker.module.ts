import { Module } from '@nestjs/common';
import { AuditPartitionsScheduler } from './audit-partitions.scheduler';
import { AuditPartitionsService } from './audit-partitions.service';
import { AuditProcessor } from './audit.processor';

/** The worker side of the audit trail: partition upkeep on the `audit` queue and its schedule. */
@Module({
  providers: [AuditPartitionsService, AuditProcessor, AuditPartitionsScheduler],
})
export class AuditWorkerModule {}
