import { Processor } from '@nestjs/bullmq';
import { QueueName } from '../../core/queue/queue-names';
import { TypedProcessor, type JobHandlers } from '../../core/queue/typed-processor';
import { CustomerImportJobService } from './customer-import-job.service';
import { CUSTOMERS_JOB_NAMES, type CustomersJobs } from './customer-import.jobs';

@Processor(QueueName.Customers, { autorun: false })
export class CustomerImportProcessor extends TypedProcessor<CustomersJobs> {
  protected readonly jobNames = CUSTOMERS_JOB_NAMES;
  protected readonly handlers: JobHandlers<CustomersJobs> = {
    import: (payload, job) => this.imports.run(payload.importId, job.attemptsMade + 1 >= (job.opts.attempts ?? 1)),
  };

  constructor(private readonly imports: CustomerImportJobService) {
    super();
  }
}
