import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ShutdownState } from '../src/core/lifecycle/shutdown-state';
import { expectProblem } from './helpers/problem';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { createTestApp } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

describe('Health', () => {
  describe('with PostgreSQL and Redis up', () => {
    let app: NestFastifyApplication;
    beforeAll(async () => {
      app = await createTestApp();
    });
    afterAll(async () => {
      await app.close();
    });

    it('should report live', async () => {
      const res = await app.inject('/health/live');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ status: 'ok' });
    });

    it('should report ready with both dependencies up', async () => {
      // Readiness is eventual: a probe that finds Redis still connecting (a saturated machine) says 503, and the
      // orchestrator asks again. Bounded, so dependencies that never come up still fail the test.
      const res = await waitFor(
        async () => {
          const probe = await app.inject('/health/ready');
          return probe.statusCode === 200 ? probe : undefined;
        },
        { timeoutMs: 10_000, intervalMs: 200, what: '/health/ready to answer 200' },
      );
      expect(res.json()).toMatchObject({
        status: 'ok',
        details: { database: { status: 'up' }, redis: { status: 'up' } },
      });
    });

    it('should report not ready once draining for shutdown', async () => {
      app.get(ShutdownState).startDraining();
      const res = await app.inject('/health/ready');
      expectProblem(res, 503, 'shutting-down');
    });
  });

  describe('with Redis unreachable at start', () => {
    let app: NestFastifyApplication;
    let owner: TestAccount;
    beforeAll(async () => {
      const healthy = await createTestApp();
      owner = await registerOwner(healthy);
      await healthy.close();
      // Nothing listens on this port: the API must still start, not crash-loop.
      app = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:6399' });
    });
    afterAll(async () => {
      await app.close();
    });

    it('should start, stay live, and report ready but degraded naming redis (the API still serves)', async () => {
      expect((await app.inject('/health/live')).statusCode).toBe(200);
      const res = await app.inject('/health/ready');
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({
        status: 'degraded',
        info: { database: { status: 'up' } },
        error: { redis: { status: 'down' } },
        details: { redis: { status: 'down' }, database: { status: 'up' } },
      });
    });

    it('should keep serving database-backed routes, checking sessions in PostgreSQL', async () => {
      const res = await app.inject({
        url: '/api/v1/system/pings/019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
        headers: bearer(owner.accessToken),
      });
      expect(res.statusCode).toBe(404);
    });
  });

  describe('with PostgreSQL unreachable after start', () => {
    it('should report not ready naming the database', async () => {
      const app = await createTestApp();
      try {
        const { DataSource } = await import('typeorm');
        await app.get(DataSource).destroy();
        const res = await app.inject('/health/ready');
        const body = expectProblem(res, 503, 'not-ready');
        expect(body.checks).toMatchObject({ database: { status: 'down' }, redis: { status: 'up' } });
      } finally {
        await app.close().catch(() => undefined);
      }
    });
  });
});
