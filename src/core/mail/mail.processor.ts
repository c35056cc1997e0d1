import { Processor } from '@nestjs/bullmq';
import { UnrecoverableError } from 'bullmq';
import type { NodemailerError } from 'nodemailer';
import { QueueName } from '../queue/queue-names';
import { TypedProcessor, type JobHandlers } from '../queue/typed-processor';
import { MAIL_JOB_NAMES, type MailJobs } from './mail.jobs';
import { MailService } from './mail.service';

/**
 * A permanent SMTP rejection (5xx: unknown mailbox, policy) would be refused again on every retry: fail the
 * job for good. Everything else (connection refused, timeouts, 4xx) is retried with backoff.
 */
function failForGoodIfRejected(error: unknown): never {
  if (error instanceof Error && (error as NodemailerError).permanent === true) {
    throw new UnrecoverableError(`mail rejected: ${error.message}`);
  }
  throw error;
}

@Processor(QueueName.Mail, { autorun: false })
export class MailProcessor extends TypedProcessor<MailJobs> {
  protected readonly jobNames = MAIL_JOB_NAMES;
  protected readonly handlers: JobHandlers<MailJobs> = {
    // job id + creation time: the same for every attempt of one job, unique across jobs.
    send: (message, job) => this.mail.send(message, `job-${job.id}.${job.timestamp}`).catch(failForGoodIfRejected),
  };

  constructor(private readonly mail: MailService) {
    super();
  }
}
