import { Module } from '@nestjs/common';
import { AuditChainLoop } from './audit-chain.loop';
import { AuditChainer } from './audit-chainer';
import { AuditPartitionsScheduler } from './audit-partitions.scheduler';
import { AuditPartitionsService } from './audit-partitions.service';
import { AuditProcessor } from './audit.processor';

/** The worker side of the audit trail: linking pending entries into their chains, and partition upkeep. */
@Module({
  providers: [AuditChainer, AuditChainLoop, AuditPartitionsService, AuditProcessor, AuditPartitionsScheduler],
})
export class AuditWorkerModule {}
