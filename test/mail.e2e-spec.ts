import { getQueueToken } from '@nestjs/bullmq';
import { Module, type DynamicModule, type INestApplicationContext, type LoggerService } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Job, Queue } from 'bullmq';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApiApp } from '../src/api-app';
import type { RawEnv } from '../src/config/env-var';
import { otpMail, type MailMessage } from '../src/core/mail/mail-message';
import { MailWorkerModule } from '../src/core/mail/mail-worker.module';
import { MailModule } from '../src/core/mail/mail.module';
import { MailQueue } from '../src/core/mail/mail.queue';
import type { JobEnvelope } from '../src/core/queue/job-envelope';
import { QueueName } from '../src/core/queue/queue-names';
import { WorkerModule } from '../src/worker.module';
import { startSmtpCapture, type SmtpCapture } from './helpers/smtp-capture';
import { testConfig } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

const MAIL_FROM = 'Atrium Test <noreply@atrium.test>';

/**
 * A Redis key prefix of this file's own: once the mail worker is part of every worker, workers started by
 * other spec files of the same run would otherwise take these mails off the shared `mail` queue.
 */
const env = (overrides: RawEnv = {}): RawEnv => ({
  REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}mail:`,
  MAIL_FROM,
  ...overrides,
});

/** Every line any Nest logger writes while the worker runs, so the test can look for leaked codes. */
class LogCapture implements LoggerService {
  readonly lines: string[] = [];
  log = (...parts: unknown[]): void => this.push(parts);
  error = (...parts: unknown[]): void => this.push(parts);
  warn = (...parts: unknown[]): void => this.push(parts);
  debug = (...parts: unknown[]): void => this.push(parts);
  verbose = (...parts: unknown[]): void => this.push(parts);
  fatal = (...parts: unknown[]): void => this.push(parts);

  private push(parts: unknown[]): void {
    this.lines.push(parts.map((part) => (typeof part === 'string' ? part : JSON.stringify(part))).join(' '));
  }
}

@Module({})
class MailTestWorkerModule {}

/**
 * The worker as src/worker.module.ts builds it, plus MailWorkerModule for as long as WorkerModule does not
 * import it itself (Nest loads a module imported twice once). The Nest logger is replaced by a capture.
 */
async function startWorker(overrides: RawEnv, logs: LogCapture): Promise<INestApplicationContext> {
  const root: DynamicModule = {
    module: MailTestWorkerModule,
    imports: [WorkerModule.forRoot(testConfig(env(overrides))), MailWorkerModule],
  };
  const worker = await NestFactory.createApplicationContext(root, { logger: logs });
  await worker.init();
  return worker;
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await listen(probe, 0);
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** The SMTP capture listens on a port it picks; this puts it behind the fixed port the worker was given. */
async function forwardPort(port: number, target: SmtpCapture): Promise<{ close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => [client, upstream].forEach((s) => s.destroy()));
      socket.on('close', () => sockets.delete(socket));
    }
    client.pipe(upstream).pipe(client);
  });
  await listen(server, port);
  return {
    close: () => {
      sockets.forEach((socket) => socket.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('Mail', () => {
  let api: NestFastifyApplication;
  let mailQueue: MailQueue;
  let queue: Queue;
  let capture: SmtpCapture;
  let worker: INestApplicationContext | undefined;
  let tempDir: string;

  beforeAll(async () => {
    capture = await startSmtpCapture();
    tempDir = await mkdtemp(join(tmpdir(), 'atrium-mail-'));
    // The API exactly as main.ts builds it; MailModule rides along as an extra module until AppModule imports it.
    api = await createApiApp(testConfig(env()), { extraModules: [MailModule] });
    await api.init();
    mailQueue = api.get(MailQueue);
    queue = api.get<Queue>(getQueueToken(QueueName.Mail));
  });

  afterEach(async () => {
    await worker?.close();
    worker = undefined;
  });

  afterAll(async () => {
    await api.close();
    await capture.close();
    await rm(tempDir, { recursive: true, force: true });
  });

  it('should deliver a mail queued by the API over SMTP with the configured sender when the worker runs', async () => {
    const logs = new LogCapture();
    worker = await startWorker({ SMTP_URL: `smtp://${capture.host}:${capture.port}` }, logs);
    const message: MailMessage = { to: 'ada@example.test', ...otpMail('login', '493817', 10, 'http://app.test') };

    await mailQueue.enqueue(message);

    const mail = await capture.waitForMail((m) => m.to.includes('ada@example.test'), 10000);
    expect(mail.from).toBe('noreply@atrium.test');
    expect(mail.to).toEqual(['ada@example.test']);
    expect(mail.raw).toContain(`From: ${MAIL_FROM}`);
    expect(mail.subject).toBe(message.subject);
    expect(mail.text).toBe(message.text);
    expect(mail.text).toContain('493817');
    // The worker logged the job, but no line carries the code or any other part of the body.
    await waitFor(async () => Promise.resolve(logs.lines.find((line) => line.includes('job send done'))));
    expect(logs.lines.filter((line) => line.includes('493817') || line.includes('finish signing in'))).toEqual([]);
  });

  it('should retry a mail whose first attempt failed because SMTP was down and deliver it once SMTP is back', async () => {
    const port = await freePort();
    const logs = new LogCapture();
    worker = await startWorker({ SMTP_URL: `smtp://127.0.0.1:${port}` }, logs);
    const message: MailMessage = {
      to: 'grace@example.test',
      ...otpMail('reset_password', '730164', 15, 'http://app.test'),
    };

    // Queuing succeeds while SMTP is down: the API never talks SMTP.
    await mailQueue.enqueue(message);

    const failedOnce = await waitFor(
      async () => {
        const delayed: Job<JobEnvelope<MailMessage>>[] = await queue.getDelayed();
        return delayed.find((job) => job.data.payload.to === 'grace@example.test');
      },
      { what: 'the first attempt to fail and the job to wait for its retry' },
    );
    expect(failedOnce.attemptsMade).toBe(1);
    expect(failedOnce.failedReason).toContain('ECONNREFUSED');
    expect(capture.messages.filter((m) => m.to.includes('grace@example.test'))).toEqual([]);

    const forward = await forwardPort(port, capture);
    try {
      const mail = await capture.waitForMail((m) => m.to.includes('grace@example.test'), 10000);
      expect(mail.subject).toBe(message.subject);
      expect(mail.text).toBe(message.text);
      // Delivered once, and the completed job (payload with the code) is gone from Redis.
      await waitFor(async () => ((await queue.getJob(failedOnce.id ?? '')) ? undefined : true), {
        what: 'the completed job to be removed',
      });
      expect(capture.messages.filter((m) => m.to.includes('grace@example.test'))).toHaveLength(1);
    } finally {
      await forward.close();
    }
    expect(logs.lines.filter((line) => line.includes('730164'))).toEqual([]);
  });

  it('should write an .eml file to the outbox folder and log recipient and subject but not the code when SMTP_URL is unset', async () => {
    const outbox = join(tempDir, 'outbox');
    const logs = new LogCapture();
    worker = await startWorker({ SMTP_URL: '', MAIL_OUTBOX_DIR: outbox }, logs);
    const message: MailMessage = {
      to: 'dev@example.test',
      ...otpMail('verify_email', '804213', 30, 'http://app.test'),
    };

    await mailQueue.enqueue(message);

    const files = await waitFor(
      async () => {
        const names = await readdir(outbox).catch(() => []);
        return names.length ? names : undefined;
      },
      { what: 'a file in the outbox' },
    );
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/\.eml$/);
    const eml = await readFile(join(outbox, files[0]), 'utf8');
    expect(eml).toContain(`From: ${MAIL_FROM}`);
    expect(eml).toContain('To: dev@example.test');
    expect(eml).toContain(`Subject: ${message.subject}`);
    expect(eml).toContain('804213');

    const line = await waitFor(async () => Promise.resolve(logs.lines.find((l) => l.includes('written to'))), {
      what: 'the outbox log line',
    });
    expect(line).toContain('dev@example.test');
    expect(line).toContain(message.subject);
    expect(line).toContain(join(outbox, files[0]));
    expect(logs.lines.filter((l) => l.includes('804213') || l.includes('verify your email'))).toEqual([]);
  });
});
