import { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { redisOptionsFromUrl } from '../../src/core/redis/redis-connection';
import { publishJobId } from '../../src/modules/posts/posts.jobs';
import { waitFor } from '../helpers/wait-for';
import { call, registerOwner, type Account } from './support/api-client';
import {
  kill,
  killAll,
  signalAndWait,
  startApi,
  startWorker,
  type RunningApi,
  type RunningProcess,
} from './support/processes';
import { HoldingSmtpServer } from './support/smtp-hold';

/*
 * A worker process killed (SIGKILL) in the middle of a job: the job's lock expires, another worker's stalled
 * check puts it back and runs it, and what the job does happens once — one mail, one import (one audit
 * entry, every row once), one publish. Short locks (2 s) and stalled checks (1 s) keep the test quick.
 */
const PREFIX = `${process.env.REDIS_KEY_PREFIX}faults-crash:`;

describe('Worker killed mid-job', () => {
  let smtp: HoldingSmtpServer;
  let api: RunningApi;
  let owner: Account;
  let db: Client;
  let locker: Client | undefined;
  let postsQueue: Queue;
  const workers: RunningProcess[] = [];

  const workerEnv = (): Record<string, string> => ({
    REDIS_KEY_PREFIX: PREFIX,
    SMTP_URL: smtp.url,
    QUEUE_JOB_LOCK_MS: '2000',
    QUEUE_STALLED_INTERVAL_MS: '1000',
    POSTS_JOB_LOCK_MS: '2000',
    POSTS_STALLED_INTERVAL_MS: '1000',
    POSTS_SWEEP_INTERVAL_SECONDS: '3600',
  });

  /** A session of its own on the database that holds a lock the worker will wait for. */
  async function hold(sql: string, params: unknown[]): Promise<Client> {
    locker = new Client({ connectionString: process.env.DATABASE_URL });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(sql, params);
    return locker;
  }

  async function worker(): Promise<RunningProcess> {
    const started = await startWorker(workerEnv());
    workers.push(started);
    return started;
  }

  async function crash(running: RunningProcess): Promise<void> {
    const { signal } = await signalAndWait(running, 'SIGKILL');
    expect(signal).toBe('SIGKILL');
  }

  beforeAll(async () => {
    smtp = await HoldingSmtpServer.start();
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    api = await startApi({ REDIS_KEY_PREFIX: PREFIX });
    owner = await registerOwner(api.url, 'worker-crash');
    postsQueue = new Queue('posts', {
      connection: redisOptionsFromUrl(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'),
      prefix: `${PREFIX}bull`,
    });
  }, 90_000);

  afterEach(async () => {
    await locker?.query('ROLLBACK').catch(() => undefined);
    await locker?.end();
    locker = undefined;
    // Workers only; the API serves every test.
    await kill(...workers.splice(0));
  });

  afterAll(async () => {
    await killAll();
    await postsQueue?.close();
    await smtp?.close();
    await db?.end();
  });

  it('should deliver the mail once when the worker dies in the middle of the SMTP conversation', async () => {
    const first = await worker();
    const held = smtp.holdNextRecipient();
    const requested = await call(api.url, 'POST', '/api/v1/auth/otp/request', {
      body: { email: owner.email, purpose: 'verify_email' },
    });
    expect(requested.status).toBe(202);
    // The worker is connected and has started the envelope; nothing is accepted yet.
    await held;
    await crash(first);
    smtp.release();

    const second = await worker();
    const mail = await waitFor(() => Promise.resolve(smtp.messages.find((m) => m.to.includes(owner.email))), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the mail, sent by the next worker',
    });
    // Well past another stalled check and lock period: still exactly one.
    await sleep(4000);
    expect(smtp.messages.filter((m) => m.to.includes(owner.email))).toHaveLength(1);
    // Every attempt of the job carries the same Message-ID (receivers can drop a duplicate by it).
    expect(mail.messageId).toMatch(/^<job-\d+\.\d+@atrium\.local>$/);
    expect(second.proc.stdout()).toMatch(/"msg":"job send started/);

    // The mailed code works.
    const code = /\b(\d{6})\b/.exec(
      mail.raw
        .split(/\r?\n\r?\n/)
        .slice(1)
        .join('\n'),
    )?.[1];
    const verified = await call(api.url, 'POST', '/api/v1/auth/otp/verify', {
      body: { email: owner.email, purpose: 'verify_email', code },
    });
    expect(verified.status).toBe(200);
  }, 90_000);

  it('should resend with the same Message-ID when the worker dies after the server took the mail but before its 250', async () => {
    // SMTP cannot take a mail back: this window is at-least-once by nature; the stable Message-ID is what
    // lets the receiving side drop the duplicate.
    const first = await worker();
    const received = smtp.holdNextData();
    const target = owner.email;
    const before = smtp.messages.filter((m) => m.to.includes(target)).length;
    // verify_email is used up by the test before: a reset code is mailed whatever the account's state.
    const requested = await call(api.url, 'POST', '/api/v1/auth/otp/request', {
      body: { email: target, purpose: 'reset_password' },
    });
    expect(requested.status).toBe(202);
    await received;
    await crash(first);
    smtp.release();

    await worker();
    const mails = await waitFor(
      () => {
        const found = smtp.messages.filter((m) => m.to.includes(target)).slice(before);
        return Promise.resolve(found.length >= 2 ? found : undefined);
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the retried mail' },
    );
    await sleep(3000);
    expect(smtp.messages.filter((m) => m.to.includes(target)).slice(before)).toHaveLength(2);
    expect(mails[1].messageId).toBe(mails[0].messageId);
    expect(new Set(mails.map((m) => m.messageId)).size).toBe(1);
  }, 90_000);

  it('should finish a CSV import once, every row once and one audit entry, when the worker dies between batches', async () => {
    const rows = Array.from({ length: 600 }, (_, i) => `Person ${i},person-${i}@crash-import.test`);
    const csv = ['name,email', ...rows].join('\n');
    // Row 551 is in the second batch (500 rows each): an uncommitted customer with its email makes the
    // worker's insert of that batch wait, after the first batch has committed.
    await hold(
      `INSERT INTO customers (id, organization_id, name, email, status, tags) VALUES ($1, $2, 'Blocker', $3, 'lead', '{}')`,
      [randomUUID(), owner.organizationId, 'person-550@crash-import.test'],
    );
    const first = await worker();
    const started = await call<{ id: string }>(api.url, 'POST', '/api/v1/customers/import', {
      token: owner.accessToken,
      rawBody: csv,
      headers: { 'content-type': 'text/csv' },
    });
    expect(started.status).toBe(202);
    const importId = started.body.id;
    const progress = async () =>
      (
        await db.query<{ status: string; processed: number; failed: number }>(
          'SELECT status, processed_rows AS processed, failed_rows AS failed FROM customer_imports WHERE id = $1',
          [importId],
        )
      ).rows[0];
    await waitFor(async () => ((await progress()).processed === 500 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the first batch to commit',
    });
    await sleep(300);
    await crash(first);
    await locker?.query('ROLLBACK');

    await worker();
    const done = await waitFor(async () => ((await progress()).status === 'completed' ? progress() : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the next worker to finish the import',
    });
    expect(done).toEqual({ status: 'completed', processed: 600, failed: 0 });
    const [customers] = (
      await db.query<{ total: number; distinct: number }>(
        `SELECT count(*)::int AS total, count(DISTINCT email)::int AS distinct FROM customers
          WHERE organization_id = $1 AND email LIKE '%@crash-import.test'`,
        [owner.organizationId],
      )
    ).rows;
    expect(customers).toEqual({ total: 600, distinct: 600 });
    const audits = await db.query(`SELECT 1 FROM audit_logs WHERE action = 'customers.import' AND resource_id = $1`, [
      importId,
    ]);
    expect(audits.rowCount).toBe(1);
  }, 120_000);

  it('should publish a scheduled post once when the worker dies while publishing it', async () => {
    const created = await call<{ id: string }>(api.url, 'POST', '/api/v1/posts', {
      token: owner.accessToken,
      body: { title: 'Crash test', body: 'Text' },
    });
    expect(created.status).toBe(201);
    const postId = created.body.id;
    const first = await worker();
    const scheduled = await call<{ version: number }>(api.url, 'POST', `/api/v1/posts/${postId}/schedule`, {
      token: owner.accessToken,
      body: { publishAt: new Date(Date.now() + 3000).toISOString() },
    });
    expect(scheduled.status).toBe(200);
    // Holding the post's row (before it is due) makes the publish wait inside its transaction.
    await hold('SELECT 1 FROM posts WHERE id = $1 FOR UPDATE', [postId]);
    const jobId = publishJobId(postId, scheduled.body.version);
    await waitFor(async () => ((await postsQueue.getJobState(jobId)) === 'active' ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the publish job to run',
    });
    await crash(first);
    await locker?.query('ROLLBACK');

    await worker();
    await waitFor(async () => ((await postsQueue.getJobState(jobId)) === 'completed' ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 200,
      what: 'the next worker to recover and complete the job',
    });
    expect((await postsQueue.getJob(jobId))?.stalledCounter).toBe(1);
    const post = await call<{ status: string; version: number; publishedAt: string }>(
      api.url,
      'GET',
      `/api/v1/posts/${postId}`,
      { token: owner.accessToken },
    );
    expect(post.body).toMatchObject({ status: 'published', version: scheduled.body.version + 1 });
    const audits = await db.query(`SELECT 1 FROM audit_logs WHERE action = 'posts.publish' AND resource_id = $1`, [
      postId,
    ]);
    expect(audits.rowCount).toBe(1);
  }, 120_000);
});
