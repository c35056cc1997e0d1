import { Logger } from '@nestjs/common';
import { UnrecoverableError, type Job } from 'bullmq';
import type { JobEnvelope } from '../queue/job-envelope';
import type { MailMessage } from './mail-message';
import { MailProcessor } from './mail.processor';
import type { MailService } from './mail.service';

const message: MailMessage = { to: 'ada@example.test', subject: 'Hello', text: 'Body' };

function sendJob(): Job<JobEnvelope<MailMessage>> {
  const data: JobEnvelope<MailMessage> = { payload: message, requestId: 'req-1' };
  return { name: 'send', id: '1', data, queueName: 'mail', attemptsMade: 0 } as unknown as Job<
    JobEnvelope<MailMessage>
  >;
}

/** A MailService whose transport answers with `outcome`. */
function processorWhere(outcome: () => Promise<void>): { processor: MailProcessor; sent: MailMessage[] } {
  const sent: MailMessage[] = [];
  const mail = {
    send: (m: MailMessage) => {
      sent.push(m);
      return outcome();
    },
  } as unknown as MailService;
  return { processor: new MailProcessor(mail), sent };
}

describe(MailProcessor.name, () => {
  beforeAll(() => {
    Logger.overrideLogger(false);
  });

  it('should hand the payload of a send job to MailService.send', async () => {
    const { processor, sent } = processorWhere(() => Promise.resolve());
    await processor.process(sendJob());
    expect(sent).toEqual([message]);
  });

  it('should fail the job for good when the server rejected the mail permanently (5xx)', async () => {
    const rejected = Object.assign(new Error('Mail command failed: 550 5.1.1 mailbox unknown'), {
      responseCode: 550,
      permanent: true,
    });
    const { processor } = processorWhere(() => Promise.reject(rejected));
    const error: unknown = await processor.process(sendJob()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toContain('550 5.1.1');
  });

  it.each([
    ['a connection failure', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:25'), { code: 'ESOCKET' })],
    [
      'a transient rejection (4xx)',
      Object.assign(new Error('451 try again later'), { responseCode: 451, permanent: false }),
    ],
  ])('should rethrow %s unchanged so the job is retried', async (_what, failure) => {
    const { processor } = processorWhere(() => Promise.reject(failure));
    await expect(processor.process(sendJob())).rejects.toBe(failure);
  });

  it('should send every attempt of one job with the same delivery key (the Message-ID), and another job with another', async () => {
    const keys: unknown[] = [];
    const mail = {
      send: (_m: MailMessage, key?: string) => Promise.resolve(void keys.push(key)),
    } as unknown as MailService;
    const processor = new MailProcessor(mail);
    const job = (id: string, attemptsMade: number): Job<JobEnvelope<MailMessage>> =>
      ({ ...sendJob(), id, timestamp: 1_700_000_000_000, attemptsMade }) as unknown as Job<JobEnvelope<MailMessage>>;
    await processor.process(job('7', 0));
    await processor.process(job('7', 1));
    await processor.process(job('8', 0));
    expect(keys).toEqual(['job-7.1700000000000', 'job-7.1700000000000', 'job-8.1700000000000']);
  });
});
