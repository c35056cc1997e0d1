import { InjectQueue } from '@nestjs/bullmq';
import { Injectable } from '@nestjs/common';
import type { JobsOptions, Queue } from 'bullmq';
import { assertQueueAvailable, enqueue } from '../queue/job-envelope';
import { QueueName } from '../queue/queue-names';
import type { MailMessage } from './mail-message';
import type { MailJobs } from './mail.jobs';

/**
 * Retries cover an SMTP outage of about half a minute (2 + 4 + 8 + 16 s). A completed job is deleted at
 * once: its payload holds a one-time code, which must not linger in Redis.
 */
export const MAIL_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 2000 },
  removeOnComplete: true,
  removeOnFail: { age: 24 * 3600 },
} as const satisfies JobsOptions;

/**
 * API side: queues mails for the worker; the request path never talks SMTP. Unlike other jobs, mails skip
 * the JobOutbox on purpose: every mail carries a one-time code, which would sit in plain text in PostgreSQL
 * (and its WAL and backups) where only its hash is kept, and a code arriving after an outage is mostly
 * expired. So a mail request fails fast (503 before anything is committed) and a mail lost in the rare
 * moment between that check and the add is what "send the code again" is for.
 */
@Injectable()
export class MailQueue {
  constructor(@InjectQueue(QueueName.Mail) private readonly queue: Queue) {}

  /** Rejects with 503 queue-unavailable while Redis is down: check before committing what the mail is for. */
  async assertAvailable(): Promise<void> {
    await assertQueueAvailable(this.queue);
  }

  /** Resolves once the mail is stored in Redis, not when it is delivered. */
  async enqueue({ to, subject, text, html }: MailMessage): Promise<void> {
    const payload: MailJobs['send'] = { to, subject, text, html };
    await enqueue(this.queue, 'send' satisfies keyof MailJobs, payload, MAIL_JOB_OPTIONS);
  }
}
