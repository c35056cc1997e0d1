import { Processor } from '@nestjs/bullmq';
import { TypedProcessor, type JobHandlers } from '../../core/queue/typed-processor';
import { QueueName } from '../../core/queue/queue-names';
import { SYSTEM_JOB_NAMES, type SystemJobs } from './system.jobs';
import { SystemService } from './system.service';

@Processor(QueueName.System, { autorun: false })
export class SystemProcessor extends TypedProcessor<SystemJobs> {
  protected readonly jobNames = SYSTEM_JOB_NAMES;
  protected readonly handlers: JobHandlers<SystemJobs> = {
    ping: (payload) => this.system.completePing(payload),
  };

  constructor(private readonly system: SystemService) {
    super();
  }
}
