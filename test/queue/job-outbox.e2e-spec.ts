import { getQueueToken } from '@nestjs/bullmq';
import { ModuleRef } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Job, Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { TransactionRunner } from '../../src/core/database/transaction.runner';
import { uuidv7 } from '../../src/core/database/uuidv7';
import { isQueueConnected } from '../../src/core/queue/job-envelope';
import { JobOutbox, queuePrefix } from '../../src/core/queue/job-outbox';
import { JobOutboxRelay } from '../../src/core/queue/job-outbox.relay';
import { JobOutboxRepository } from '../../src/core/queue/job-outbox.repository';
import { QueueName } from '../../src/core/queue/queue-names';
import { RedisServer } from '../faults/support/redis-server';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp, testConfig } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';

interface OutboxRow {
  jobId: string;
  runAt: Date | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: Date | null;
}

/*
 * The outbox against real PostgreSQL and a redis-server of this file's own, which it stops and starts. No
 * worker runs: jobs stay in the queue where the test can count them, and relays are driven by hand
 * (QUEUE_OUTBOX_RELAY_AFTER_MS=0: any committed row is due).
 */
describe(JobOutbox.name, () => {
  let redisServer: RedisServer;
  let app: NestFastifyApplication;
  let env: RawEnv;
  let queue: Queue;
  let outbox: JobOutbox;
  let repository: JobOutboxRepository;
  let db: DataSource;
  let owner: TestAccount;

  const relay = (overrides: RawEnv = {}): JobOutboxRelay =>
    new JobOutboxRelay(testConfig({ ...env, ...overrides }), db, repository, app.get(ModuleRef));
  const rows = (jobIds: string[]): Promise<OutboxRow[]> =>
    db.query<OutboxRow[]>(
      `SELECT job_id AS "jobId", run_at AS "runAt", attempts, last_error AS "lastError",
         next_attempt_at AS "nextAttemptAt" FROM job_outbox WHERE job_id = ANY($1)`,
      [jobIds],
    );
  const jobsNamed = async (name: string): Promise<Job[]> =>
    (await queue.getJobs(['waiting', 'delayed'], 0, -1)).filter((job) => job.name === name);
  /** A row as an API would have left it, without the API's own attempt to hand it over. */
  const insertRow = async (name: string, overrides: { jobId?: string; prefix?: string } = {}): Promise<string> => {
    const id = uuidv7();
    const jobId = overrides.jobId ?? `outbox-${id}`;
    await repository.insert(
      {
        id,
        prefix: overrides.prefix ?? queuePrefix(queue),
        queue: queue.name,
        name,
        jobId,
        data: { payload: { n: 1 }, requestId: null },
        options: {},
        runAt: null,
      },
      db.manager,
    );
    return jobId;
  };
  const redisBack = async (): Promise<void> => {
    await redisServer.start();
    await waitFor(async () => ((await isQueueConnected(queue)) ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the queue to reconnect',
    });
  };

  beforeAll(async () => {
    redisServer = await RedisServer.start();
    env = {
      REDIS_URL: redisServer.url,
      REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}outbox:`,
      QUEUE_OUTBOX_RELAY_AFTER_MS: '0',
      QUEUE_ENQUEUE_TIMEOUT_MS: '500',
      METRICS_ENABLED: 'true',
    };
    app = await createTestApp(env);
    queue = app.get<Queue>(getQueueToken(QueueName.System));
    outbox = app.get(JobOutbox);
    repository = app.get(JobOutboxRepository);
    db = app.get(DataSource);
    owner = await registerOwner(app, 'outbox');
  });

  afterEach(async () => {
    await db.query('DELETE FROM job_outbox WHERE prefix = $1', [queuePrefix(queue)]);
  });

  afterAll(async () => {
    await app?.close();
    await redisServer?.destroy();
  });

  it('should add the job with its request id and leave no row when Redis is up', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/system/pings',
      headers: { 'x-request-id': 'outbox-fast-path', ...bearer(owner.accessToken) },
    });
    expect(res.statusCode).toBe(202);
    const { id } = res.json<{ id: string }>();

    const job = await queue.getJob(id);
    expect(job?.name).toBe('ping');
    expect(job?.data).toEqual({ payload: { pingId: id, holdMs: 0 }, requestId: 'outbox-fast-path' });
    expect(await rows([id])).toEqual([]);
  });

  it('should leave neither a row nor a job when the transaction rolls back', async () => {
    const tx = app.get(TransactionRunner);
    await expect(
      tx.run(async () => {
        await outbox.enqueue(queue, 'probe-rollback', { n: 1 }, { jobId: 'rollback-probe' });
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');

    expect(await rows(['rollback-probe'])).toEqual([]);
    expect(await queue.getJob('rollback-probe')).toBeUndefined();
  });

  it('should keep jobs committed while Redis is down and relay them, delays kept, once it is back', async () => {
    await redisServer.kill();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/system/pings',
      headers: { 'x-request-id': 'outbox-outage', ...bearer(owner.accessToken) },
    });
    // The request succeeds (the job is committed with the ping), without waiting for Redis.
    expect(res.statusCode).toBe(202);
    const pingId = res.json<{ id: string }>().id;
    const delayedId = await outbox.enqueue(queue, 'probe-delayed', { n: 1 }, { delay: 60_000 });
    const overdueId = await outbox.enqueue(queue, 'probe-overdue', { n: 2 }, { delay: 1_000 });
    // Relayed 10 s after its run time: it must run at once, not 1 s after the relay.
    await db.query(`UPDATE job_outbox SET run_at = run_at - interval '11 seconds' WHERE job_id = $1`, [overdueId]);
    expect((await rows([pingId, delayedId, overdueId])).map((row) => row.jobId).sort()).toEqual(
      [pingId, delayedId, overdueId].sort(),
    );
    const [{ runAt }] = await rows([delayedId]);

    // Nothing to do while Redis is away, and nothing counted as a failure.
    expect(await relay().relayOnce()).toEqual({ claimed: 0, relayed: 0, failed: 0 });

    await redisBack();
    expect(await relay().relayOnce()).toEqual({ claimed: 3, relayed: 3, failed: 0 });
    expect(await rows([pingId, delayedId, overdueId])).toEqual([]);

    const ping = await queue.getJob(pingId);
    expect(ping?.data).toEqual({ payload: { pingId, holdMs: 0 }, requestId: 'outbox-outage' });
    const delayed = (await queue.getJob(delayedId))!;
    expect(await delayed.getState()).toBe('delayed');
    // Runs when it was meant to (enqueue time + 60 s), not 60 s after the relay.
    expect(Math.abs(delayed.timestamp + (delayed.opts.delay ?? 0) - runAt!.getTime())).toBeLessThan(50);
    expect(await (await queue.getJob(overdueId))!.getState()).toBe('waiting');
  }, 60_000);

  it('should keep one job when a row is relayed again after its job was added (delete lost)', async () => {
    const jobId = await insertRow('probe-twice');
    // The first hand-over reached Redis, but the row's delete never happened (crash, PostgreSQL gone).
    const [row] = await db.query<{ data: object }[]>('SELECT data FROM job_outbox WHERE job_id = $1', [jobId]);
    await queue.add('probe-twice', row.data, { jobId });

    expect(await relay().relayOnce()).toEqual({ claimed: 1, relayed: 1, failed: 0 });
    expect(await rows([jobId])).toEqual([]);
    expect((await jobsNamed('probe-twice')).map((job) => job.id)).toEqual([jobId]);
  });

  it('should hand every row to exactly one of two concurrent relays, and leave rows of other prefixes', async () => {
    const jobIds: string[] = [];
    for (let i = 0; i < 50; i++) jobIds.push(await insertRow('probe-concurrent'));
    const foreign = await insertRow('probe-concurrent', { prefix: 'someone-else:bull' });

    const batch = { QUEUE_OUTBOX_RELAY_BATCH_SIZE: '30' };
    const passes = await Promise.all([relay(batch).relayOnce(), relay(batch).relayOnce()]);

    expect(passes.map((pass) => pass.claimed).sort()).toEqual([20, 30]);
    expect(passes.reduce((sum, pass) => sum + pass.relayed, 0)).toBe(50);
    expect(await rows(jobIds)).toEqual([]);
    expect((await jobsNamed('probe-concurrent')).map((job) => job.id).sort()).toEqual([...jobIds].sort());
    expect((await rows([foreign])).map((row) => row.jobId)).toEqual([foreign]);
    await db.query('DELETE FROM job_outbox WHERE job_id = $1', [foreign]);
  });

  it('should count a refused hand-over, keep the error and hold the row back before trying again', async () => {
    // BullMQ refuses this id; an outage is not counted (see above), a refusal is.
    const jobId = await insertRow('probe-refused', { jobId: 'refused:id' });

    expect(await relay().relayOnce()).toEqual({ claimed: 1, relayed: 0, failed: 1 });
    const [row] = await rows([jobId]);
    expect(row).toMatchObject({ attempts: 1, lastError: expect.stringContaining('cannot contain :') as string });
    expect(row.nextAttemptAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await relay().relayOnce()).toEqual({ claimed: 0, relayed: 0, failed: 0 });
  });

  it('should report the rows waiting and the age of the oldest on the metrics page', async () => {
    await insertRow('probe-metrics');
    await insertRow('probe-metrics');
    await db.query(`UPDATE job_outbox SET created_at = now() - interval '90 seconds' WHERE name = 'probe-metrics'`);

    const page = (await app.inject('/metrics')).body;
    expect(page).toMatch(/^job_outbox_jobs 2$/m);
    const age = Number(/^job_outbox_oldest_age_seconds (\S+)$/m.exec(page)?.[1]);
    expect(age).toBeGreaterThanOrEqual(90);
    expect(age).toBeLessThan(120);
  });
});
