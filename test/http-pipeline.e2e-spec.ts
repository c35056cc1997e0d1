import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ProbeModule } from './fixtures/probe.module';
import { expectProblem } from './helpers/problem';
import { createTestApp } from './helpers/test-app';
import { createApiApp } from '../src/api-app';
import { testConfig } from './helpers/test-app';

describe('HTTP pipeline', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    const config = testConfig({
      BODY_LIMIT_BYTES: '2048',
      CORS_ORIGINS: 'https://app.example.com',
      HTTP_TIMEOUT_MS: '400',
    });
    app = await createApiApp(config, { extraModules: [ProbeModule] });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
  });

  afterAll(async () => {
    await app.close();
  });

  describe('request id', () => {
    it('should echo an acceptable X-Request-Id and expose it to the handler', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/probe/echo',
        headers: { 'x-request-id': 'client-id-42' },
        payload: { email: 'a@example.com', address: { city: 'Oslo' } },
      });
      expect(res.statusCode).toBe(200);
      expect(res.headers['x-request-id']).toBe('client-id-42');
      expect(res.json()).toMatchObject({ requestId: 'client-id-42' });
    });

    it('should generate a UUID when no X-Request-Id is sent', async () => {
      const res = await app.inject({ method: 'GET', url: '/health/live' });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('should replace an X-Request-Id that could forge log lines', async () => {
      const res = await app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { 'x-request-id': 'a\u0085b {"level":60}' },
      });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('should give each request its own id', async () => {
      const [a, b] = await Promise.all([app.inject('/health/live'), app.inject('/health/live')]);
      expect(a.headers['x-request-id']).not.toBe(b.headers['x-request-id']);
    });
  });

  describe('problem details', () => {
    it('should answer an unknown route with a 404 problem', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/does-not-exist?token=abc' });
      const body = expectProblem(res, 404, 'not-found');
      expect(body.instance).toBe('/api/v1/does-not-exist');
    });

    it('should name every invalid field, including nested ones', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/probe/echo',
        payload: { email: 'not-an-email', address: { city: 'X' }, count: 'many' },
      });
      const body = expectProblem(res, 400, 'validation-failed');
      const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
      expect(fields).toEqual(['address.city', 'count', 'email']);
    });

    it('should refuse unknown fields instead of dropping them silently', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/probe/echo',
        payload: { email: 'a@example.com', address: { city: 'Oslo' }, isAdmin: true },
      });
      const body = expectProblem(res, 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'isAdmin', message: 'property isAdmin should not exist' }]);
    });

    it('should answer malformed JSON with a 400 problem', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/probe/echo',
        headers: { 'content-type': 'application/json' },
        payload: '{"email": ',
      });
      expectProblem(res, 400, 'malformed-body');
    });

    it('should answer a body over BODY_LIMIT_BYTES with a 413 problem', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/probe/echo',
        payload: { email: 'a@example.com', address: { city: 'x'.repeat(4096) } },
      });
      expectProblem(res, 413, 'payload-too-large');
    });

    it('should answer an unsupported content type with a 415 problem', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/probe/echo',
        headers: { 'content-type': 'application/xml' },
        payload: '<a/>',
      });
      expectProblem(res, 415, 'unsupported-media-type');
    });

    it('should hide the internals of an unexpected error behind a 500 problem', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/probe/boom' });
      expectProblem(res, 500, 'internal-error');
      expect(res.body).not.toMatch(/hunter2|SELECT|postgres:|at .*\.ts/);
    });

    it('should never put SQL in the body of a database error', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/probe/sql-error' });
      expectProblem(res, 500, 'internal-error');
      expect(res.body).not.toMatch(/table_that_does_not_exist|SELECT/);
    });

    it('should map invalid input found by PostgreSQL to a 400 problem without SQL', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/probe/bad-uuid' });
      expectProblem(res, 400, 'invalid-input');
      expect(res.body).not.toMatch(/::uuid|not-a-uuid|SELECT/);
    });
  });

  describe('timeout', () => {
    it('should answer 503 when a request exceeds HTTP_TIMEOUT_MS', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/probe/sleep?ms=1500' });
      const body = expectProblem(res, 503, 'request-timeout');
      expect(body.detail).toContain('400 ms');
    });

    it('should let a route finish that completes within the timeout', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/probe/sleep?ms=10' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toEqual({ slept: 10 });
    });

    it('should apply a per-route @RequestTimeout override', async () => {
      const res = await app.inject({ method: 'GET', url: '/api/v1/probe/sleep-short-timeout?ms=300' });
      const body = expectProblem(res, 503, 'request-timeout');
      expect(body.detail).toContain('100 ms');
    });
  });

  describe('security headers and CORS', () => {
    it('should send helmet security headers', async () => {
      const res = await app.inject('/health/live');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['strict-transport-security']).toContain('max-age=');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
    });

    it('should allow an origin on the CORS allowlist', async () => {
      const res = await app.inject({
        method: 'OPTIONS',
        url: '/api/v1/system/pings',
        headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
      });
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    });

    it('should not allow an origin missing from the allowlist', async () => {
      const res = await app.inject({
        method: 'OPTIONS',
        url: '/api/v1/system/pings',
        headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  });
});

describe('HTTP pipeline without CORS origins', () => {
  it('should send no CORS headers when CORS_ORIGINS is empty', async () => {
    const app = await createTestApp({ CORS_ORIGINS: '' });
    try {
      const res = await app.inject({
        method: 'GET',
        url: '/health/live',
        headers: { origin: 'https://app.example.com' },
      });
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});
