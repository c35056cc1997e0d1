import { Client } from 'pg';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '../helpers/wait-for';
import { call, registerOwner, type Account, type ApiResponse } from './support/api-client';
import { killAll, signalAndWait, startApi, startWorker, type RunningProcess } from './support/processes';
import { TcpProxy } from './support/tcp-proxy';

/*
 * SIGTERM to a real API process with 50 requests in flight and to a real worker process with jobs running.
 * The requests are real (GET /customers), made slow by a proxy in front of PostgreSQL that delays every
 * answer, so they are still running when the signal arrives; the jobs are system pings that hold 2.5 s.
 */
const GRACE_MS = 15_000;
const PREFIX = `${process.env.REDIS_KEY_PREFIX}faults-shutdown:`;

interface PingRow {
  id: string;
  status: string;
  processedBy: string | null;
}

function jobsStarted(worker: RunningProcess): number {
  return (worker.proc.stdout().match(/"msg":"job ping started/g) ?? []).length;
}

describe('Graceful shutdown of real API and worker processes', () => {
  let db: Client;
  let proxy: TcpProxy;

  const pings = async (ids: string[]): Promise<PingRow[]> =>
    (
      await db.query<PingRow>(
        'SELECT id, status, processed_by AS "processedBy" FROM system_pings WHERE id = ANY($1) ORDER BY created_at',
        [ids],
      )
    ).rows;

  async function requestPings(base: string, owner: Account, count: number, holdMs: number): Promise<string[]> {
    const ids: string[] = [];
    for (let i = 0; i < count; i++) {
      const res = await call<{ id: string }>(base, 'POST', '/api/v1/system/pings', {
        token: owner.accessToken,
        body: { holdMs },
      });
      expect(res.status).toBe(202);
      ids.push(res.body.id);
    }
    return ids;
  }

  beforeAll(async () => {
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
    const database = new URL(process.env.DATABASE_URL ?? '');
    proxy = await TcpProxy.start({ host: database.hostname, port: Number(database.port || 5432) });
  });

  // Each test's processes share the queue prefix: none may linger into the next test.
  afterEach(async () => {
    await killAll();
  });

  afterAll(async () => {
    await killAll();
    await proxy?.close();
    await db?.end();
  });

  it('should fail readiness first, finish all 50 in-flight requests and the running jobs, exit 0 within the grace period, and lose no job', async () => {
    const database = new URL(process.env.DATABASE_URL ?? '');
    database.port = String(proxy.port);
    const [api, worker] = await Promise.all([
      startApi({
        DATABASE_URL: database.toString(),
        REDIS_KEY_PREFIX: PREFIX,
        SHUTDOWN_TIMEOUT_MS: String(GRACE_MS),
        SHUTDOWN_READINESS_DELAY_MS: '1500',
        HTTP_TIMEOUT_MS: '30000',
        DB_POOL_SIZE: '10',
        DB_CONNECT_TIMEOUT_MS: '30000',
      }),
      startWorker({ REDIS_KEY_PREFIX: PREFIX, WORKER_CONCURRENCY: '3', SHUTDOWN_TIMEOUT_MS: String(GRACE_MS) }),
    ]);
    const owner = await registerOwner(api.url, 'shutdown');
    for (let i = 0; i < 30; i++) {
      const res = await call(api.url, 'POST', '/api/v1/customers', {
        token: owner.accessToken,
        body: { name: `Customer ${i}`, email: `c${i}@shutdown.test` },
      });
      expect(res.status).toBe(201);
    }
    const list = () =>
      call<{ data: unknown[] }>(api.url, 'GET', '/api/v1/customers?limit=50', { token: owner.accessToken });
    expect((await list()).body.data).toHaveLength(30);

    // Six jobs, three running at once: three are active at SIGTERM, three wait.
    const ids = await requestPings(api.url, owner, 6, 2500);
    await waitFor(() => Promise.resolve(jobsStarted(worker) >= 3 ? true : undefined), {
      what: 'three jobs to be running',
    });

    // No answer from PostgreSQL comes back sooner than 400 ms: all 50 are still running 150 ms later.
    proxy.delayMs = 400;
    let settled = 0;
    const inFlight: Promise<ApiResponse<{ data: unknown[] }>>[] = Array.from({ length: 50 }, () =>
      list().finally(() => settled++),
    );
    await sleep(150);
    expect(settled).toBe(0);

    const apiExit = signalAndWait(api, 'SIGTERM');
    const workerExit = signalAndWait(worker, 'SIGTERM');
    await sleep(150);
    const ready = await call(api.url, 'GET', '/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({ type: 'urn:atrium:problem:shutting-down' });
    expect(settled).toBeLessThan(50);

    const results = await Promise.all(inFlight);
    expect(results.map((res) => res.status)).toEqual(Array(50).fill(200));
    expect(results.every((res) => res.body.data.length === 30)).toBe(true);

    const [apiDone, workerDone] = await Promise.all([apiExit, workerExit]);
    expect(apiDone.code).toBe(0);
    expect(apiDone.ms).toBeLessThan(GRACE_MS);
    expect(api.proc.stdout()).toContain('shutdown complete');
    expect(workerDone.code).toBe(0);
    expect(workerDone.ms).toBeLessThan(GRACE_MS);
    // The stopping worker took no new job: the three running ones completed, the others still wait.
    const afterStop = await pings(ids);
    expect(afterStop.filter((p) => p.status === 'processed').map((p) => p.processedBy)).toEqual(
      Array(3).fill(worker.workerId),
    );
    expect(afterStop.filter((p) => p.status === 'queued')).toHaveLength(3);
    expect(jobsStarted(worker)).toBe(3);

    proxy.delayMs = 0;
    const next = await startWorker({ REDIS_KEY_PREFIX: PREFIX, WORKER_CONCURRENCY: '3' });
    const all = await waitFor(
      async () => {
        const rows = await pings(ids);
        return rows.every((p) => p.status === 'processed') ? rows : undefined;
      },
      { timeoutMs: 15_000, intervalMs: 200, what: 'the next worker to run the waiting jobs' },
    );
    expect(all.filter((p) => p.processedBy === next.workerId)).toHaveLength(3);
  }, 120_000);

  it('should leave a job that outlives the grace period to the next worker (stalled, then run again)', async () => {
    const workerEnv = {
      REDIS_KEY_PREFIX: PREFIX,
      SHUTDOWN_TIMEOUT_MS: '1500',
      QUEUE_JOB_LOCK_MS: '2000',
      QUEUE_STALLED_INTERVAL_MS: '1000',
    };
    const [api, worker] = await Promise.all([startApi({ REDIS_KEY_PREFIX: PREFIX }), startWorker(workerEnv)]);
    const owner = await registerOwner(api.url, 'shutdown-long');
    const [id] = await requestPings(api.url, owner, 1, 6000);
    await waitFor(() => Promise.resolve(jobsStarted(worker) >= 1 ? true : undefined), { what: 'the long job to run' });

    const stopped = await signalAndWait(worker, 'SIGTERM');
    // Forced out after the grace period, the job unfinished.
    expect(stopped.code).toBe(1);
    expect(stopped.ms).toBeGreaterThanOrEqual(1500);
    expect(stopped.ms).toBeLessThan(4000);
    expect(worker.proc.stdout()).toContain('graceful shutdown exceeded 1500 ms');
    expect((await pings([id]))[0].status).toBe('queued');

    const next = await startWorker(workerEnv);
    const [row] = await waitFor(
      async () => {
        const rows = await pings([id]);
        return rows[0].status === 'processed' ? rows : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the next worker to recover and run the stalled job' },
    );
    expect(row.processedBy).toBe(next.workerId);
  }, 90_000);
});
