import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ALL_QUEUES } from '../src/core/queue/queue-names';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { insertMember, loginAs } from './helpers/fixtures';
import { expectProblem } from './helpers/problem';
import { createTestApp } from './helpers/test-app';

describe('queue dashboard (/admin/queues)', () => {
  describe('when enabled', () => {
    let app: NestFastifyApplication;
    let owner: TestAccount;
    let viewerToken: string;

    let tenantToken: string;

    beforeAll(async () => {
      // The operator organization must exist before the app that names it in QUEUE_DASHBOARD_ORGANIZATIONS.
      const setup = await createTestApp();
      owner = await registerOwner(setup, 'queues-owner');
      tenantToken = (await registerOwner(setup, 'queues-tenant')).accessToken;
      await setup.close();
      app = await createTestApp({
        QUEUE_DASHBOARD_ENABLED: 'true',
        QUEUE_DASHBOARD_ORGANIZATIONS: owner.organizationId,
      });
      const viewer = await insertMember(app, owner.organizationId, {
        label: 'queues-viewer',
        assignments: [{ roleKey: 'viewer' }],
      });
      viewerToken = await loginAs(app, viewer.email);
    });
    afterAll(async () => {
      await app.close();
    });

    it('should refuse the owner of any other organization with 403: the dashboard spans every tenant', async () => {
      for (const url of ['/admin/queues', '/admin/queues/api/queues']) {
        const res = await app.inject({ url, headers: bearer(tenantToken) });
        expect(expectProblem(res, 403, 'permission-denied').detail).toContain('QUEUE_DASHBOARD_ORGANIZATIONS');
      }
    });

    it('should answer 401 problem+json when no access token is sent', async () => {
      expectProblem(await app.inject('/admin/queues'), 401, 'missing-token');
      expectProblem(await app.inject('/admin/queues/api/queues'), 401, 'missing-token');
    });

    it('should answer 401 problem+json when the access token is invalid', async () => {
      expectProblem(await app.inject({ url: '/admin/queues', headers: bearer('not-a-jwt') }), 401, 'invalid-token');
    });

    it('should answer 403 problem+json when the user lacks system:queues', async () => {
      const page = await app.inject({ url: '/admin/queues', headers: bearer(viewerToken) });
      expect(expectProblem(page, 403, 'permission-denied').permission).toBe('system:queues');
      expectProblem(
        await app.inject({ url: '/admin/queues/api/queues', headers: bearer(viewerToken) }),
        403,
        'permission-denied',
      );
    });

    it('should serve the dashboard page to an owner of an operator organization', async () => {
      const res = await app.inject({ url: '/admin/queues', headers: bearer(owner.accessToken) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
    });

    it('should list every queue in the dashboard API for an owner', async () => {
      const res = await app.inject({ url: '/admin/queues/api/queues', headers: bearer(owner.accessToken) });
      expect(res.statusCode).toBe(200);
      const names = res.json<{ queues: Array<{ name: string }> }>().queues.map((queue) => queue.name);
      expect(names.sort()).toEqual([...ALL_QUEUES].sort());
      expect(names).toEqual(expect.arrayContaining(['system', 'mail', 'audit', 'customers', 'posts']));
    });
  });

  describe('with QUEUE_DASHBOARD_ENABLED=false', () => {
    let app: NestFastifyApplication;
    beforeAll(async () => {
      app = await createTestApp({ QUEUE_DASHBOARD_ENABLED: 'false' });
    });
    afterAll(async () => {
      await app.close();
    });

    it('should answer 404 even for an owner', async () => {
      const owner = await registerOwner(app, 'queues-off');
      expect((await app.inject({ url: '/admin/queues', headers: bearer(owner.accessToken) })).statusCode).toBe(404);
      expect(
        (await app.inject({ url: '/admin/queues/api/queues', headers: bearer(owner.accessToken) })).statusCode,
      ).toBe(404);
    });
  });
});
