import { Processor } from '@nestjs/bullmq';
import { QueueName } from '../../core/queue/queue-names';
import { TypedProcessor, type JobHandlers } from '../../core/queue/typed-processor';
import { AuditPartitionsService } from './audit-partitions.service';
import { AUDIT_JOB_NAMES, type AuditJobs } from './audit.jobs';

@Processor(QueueName.Audit, { autorun: false })
export class AuditProcessor extends TypedProcessor<AuditJobs> {
  protected readonly jobNames = AUDIT_JOB_NAMES;
  protected readonly handlers: JobHandlers<AuditJobs> = {
    'maintain-partitions': () => this.partitions.maintain(),
  };

  constructor(private readonly partitions: AuditPartitionsService) {
    super();
  }
}
