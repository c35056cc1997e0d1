import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnTs, type SpawnedProcess } from './helpers/spawn-process';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { createTestApp } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

/** Queues of this spec's own: spec files run in parallel, and no other file's worker may take its jobs. */
const OWN_QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}processes:` };
describe('Processes', () => {
  describe('start-up configuration', () => {
    it.each([
      ['api', 'src/main.ts', { PORT: 'abc' }, 'Invalid configuration: PORT must be an integer (got "abc")'],
      [
        'api',
        'src/main.ts',
        { DATABASE_URL: 'mysql://x' },
        'Invalid configuration: DATABASE_URL must use postgres:// or postgresql://',
      ],
      [
        'worker',
        'src/worker.ts',
        { REDIS_KEY_PREFIX: 'bad prefix!' },
        'Invalid configuration: REDIS_KEY_PREFIX must be 1-64 characters',
      ],
      [
        'api',
        'src/main.ts',
        { NODE_ENV: 'production', JWT_PRIVATE_KEY_FILE: '' },
        'Invalid configuration: JWT_PRIVATE_KEY_FILE (or JWT_PRIVATE_KEY) is required in production',
      ],
      [
        'api',
        'src/main.ts',
        {
          NODE_ENV: 'production',
          JWT_PRIVATE_KEY_FILE: '/run/secrets/key.pem',
          CORS_ORIGINS: '*',
          CURSOR_SECRET: 'x'.repeat(40),
        },
        'Invalid configuration: CORS_ORIGINS must list origins in production',
      ],
      [
        'api',
        'src/main.ts',
        {
          NODE_ENV: 'production',
          JWT_PRIVATE_KEY_FILE: '/run/secrets/key.pem',
          CORS_ORIGINS: 'https://app.example.com',
        },
        'Invalid configuration: CURSOR_SECRET must be set to a secret of 32+ characters in production',
      ],
    ])(
      'should stop the %s with exit code 1 and one line naming the problem (%j)',
      async (_kind, entry, env, message) => {
        const proc = spawnTs(entry, env);
        const { code } = await proc.exited;
        expect(code).toBe(1);
        const lines = proc.stderr().trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(message);
        expect(proc.stdout()).toBe('');
      },
    );
  });

  describe('API SIGTERM', () => {
    let api: SpawnedProcess;
    let base: string;

    beforeAll(async () => {
      api = spawnTs('test/fixtures/probe-api.main.ts', {
        SHUTDOWN_READINESS_DELAY_MS: '700',
        HTTP_TIMEOUT_MS: '30000',
      });
      const [, port] = await api.waitForOutput(/READY (\d+)/);
      base = `http://127.0.0.1:${port}`;
    });

    afterAll(() => {
      api.child.kill('SIGKILL');
    });

    it('should fail readiness first, finish all in-flight requests, then exit 0', async () => {
      expect((await fetch(`${base}/health/ready`)).status).toBe(200);
      const inFlight = Array.from({ length: 50 }, () =>
        fetch(`${base}/api/v1/probe/sleep?ms=1500`).then(async (res) => ({
          status: res.status,
          body: await res.json(),
        })),
      );
      await sleep(300);
      api.child.kill('SIGTERM');
      await sleep(200);
      const readyWhileDraining = await fetch(`${base}/health/ready`);
      expect(readyWhileDraining.status).toBe(503);

      const results = await Promise.all(inFlight);
      expect(results.every((r) => r.status === 200 && (r.body as { slept: number }).slept === 1500)).toBe(true);
      const { code } = await api.exited;
      expect(code).toBe(0);
      expect(api.stdout()).toContain('shutdown complete');
    });

    it('should have written one JSON access line per request with id, method, route, status and latency', () => {
      const lines = api
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      const access = lines.filter((line) => line.msg === 'request completed' && line.route === '/api/v1/probe/sleep');
      expect(access).toHaveLength(50);
      expect(access[0]).toMatchObject({
        requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        req: { method: 'GET', url: '/api/v1/probe/sleep' },
        res: { statusCode: 200 },
        responseTime: expect.any(Number),
      });
      expect(new Set(access.map((line) => line.requestId)).size).toBe(50);
    });
  });

  describe('worker SIGTERM', () => {
    let app: NestFastifyApplication;
    let owner: TestAccount;

    beforeAll(async () => {
      app = await createTestApp(OWN_QUEUES);
      owner = await registerOwner(app);
    });

    afterAll(async () => {
      await app.close();
    });

    it('should finish the active job before exiting 0', async () => {
      const worker = spawnTs('src/worker.ts', OWN_QUEUES);
      try {
        await worker.waitForOutput(/worker started/);
        const created = await app.inject({
          method: 'POST',
          url: '/api/v1/system/pings',
          headers: { 'x-request-id': 'drain-check-1', ...bearer(owner.accessToken) },
          payload: { holdMs: 2000 },
        });
        const { id } = created.json<{ id: string }>();
        await worker.waitForOutput(/job ping started/);
        worker.child.kill('SIGTERM');
        const { code } = await worker.exited;
        expect(code).toBe(0);
        const ping = await waitFor(async () => {
          const body = (
            await app.inject({ url: `/api/v1/system/pings/${id}`, headers: bearer(owner.accessToken) })
          ).json<{ status: string; processedBy: string }>();
          return body.status === 'processed' ? body : undefined;
        });
        expect(ping.processedBy).toBe(`${hostname()}:${worker.child.pid}`);
        // The worker's log lines for the job carry the request id of the request that enqueued it.
        const jobLines = worker
          .stdout()
          .split('\n')
          .filter((line) => line.includes('"job ping'));
        expect(jobLines).toHaveLength(2);
        for (const line of jobLines) {
          expect(JSON.parse(line)).toMatchObject({ requestId: 'drain-check-1', jobId: id, queue: 'system' });
        }
      } finally {
        worker.child.kill('SIGKILL');
      }
    });
  });
});
