import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { PasswordHasher } from '../../src/core/security/password-hasher';
import { TEST_PASSWORD, uniqueEmail } from '../helpers/auth';
import { testConfig } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { call, expectProblem, login, registerOwner, type Account } from './support/api-client';
import { killAll, logLines, startApi, startWorker, type RunningApi, type RunningProcess } from './support/processes';

/*
 * Scale-out: two API processes (A and B, on their own ports) and two worker processes against the same
 * PostgreSQL and Redis (this run's database and a key prefix of this suite). What one instance changes, the
 * other enforces on the very next request; work done through both happens once.
 */
const PREFIX = `${process.env.REDIS_KEY_PREFIX}faults-scale:`;
const AUTH_MAX = 10;

describe('Scale-out: two APIs and two workers on one PostgreSQL and Redis', () => {
  let a: RunningApi;
  let b: RunningApi;
  let workers: RunningProcess[];
  let owner: Account;
  let db: Client;

  beforeAll(async () => {
    const env = {
      REDIS_KEY_PREFIX: PREFIX,
      RATE_LIMIT_AUTH_MAX: String(AUTH_MAX),
      POSTS_SWEEP_INTERVAL_SECONDS: '3600',
    };
    const [apiA, apiB, ...started] = await Promise.all([
      startApi(env),
      startApi(env),
      startWorker(env),
      startWorker(env),
    ]);
    [a, b, workers] = [apiA, apiB, started];
    expect(new URL(a.url).port).not.toBe(new URL(b.url).port);
    owner = await registerOwner(a.url, 'scale-out');
    db = new Client({ connectionString: process.env.DATABASE_URL });
    await db.connect();
  }, 120_000);

  afterAll(async () => {
    await killAll();
    await db?.end();
  });

  it('should reject on B a session revoked through A, on the next request', async () => {
    const other = await login(b.url, owner.email);
    expect((await call(b.url, 'GET', '/api/v1/auth/me', { token: other.accessToken })).status).toBe(200);

    const revoked = await call(a.url, 'DELETE', `/api/v1/auth/sessions/${other.sessionId}`, {
      token: owner.accessToken,
    });
    expect(revoked.status).toBe(204);

    expectProblem(await call(b.url, 'GET', '/api/v1/auth/me', { token: other.accessToken }), 401, 'session-revoked');
    const refreshed = await call(b.url, 'POST', '/api/v1/auth/refresh', { body: { refreshToken: other.refreshToken } });
    expect(refreshed.status).toBe(401);
    expect((await call(b.url, 'GET', '/api/v1/auth/me', { token: owner.accessToken })).status).toBe(200);
  });

  it('should count one rate limit across A and B', async () => {
    const attempt = (base: string) =>
      call(base, 'POST', '/api/v1/auth/otp/verify', {
        body: { email: 'nobody@scale-out.test', purpose: 'login', code: '000000' },
      });
    const remaining: number[] = [];
    for (let i = 0; i < AUTH_MAX; i++) {
      const res = await attempt(i % 2 === 0 ? a.url : b.url);
      expect(res.status).not.toBe(429);
      remaining.push(Number(/;r=(\d+);/.exec(res.headers.get('ratelimit') ?? '')?.[1]));
    }
    // Each instance saw the other's hits: the remaining count went down by one per request, whichever served it.
    expect(remaining).toEqual(Array.from({ length: AUTH_MAX }, (_, i) => AUTH_MAX - 1 - i));
    expectProblem(await attempt(b.url), 429, 'rate-limited');
    expectProblem(await attempt(a.url), 429, 'rate-limited');
  });

  it('should enforce on B a role taken away through A, on the next request', async () => {
    const memberId = randomUUID();
    const email = uniqueEmail('scale-member');
    const hasher = new PasswordHasher(testConfig());
    const passwordHash = await hasher.hash(TEST_PASSWORD);
    await hasher.onApplicationShutdown();
    await db.query(
      `INSERT INTO users (id, organization_id, email, name, status, password_hash) VALUES ($1, $2, $3, 'Member', 'active', $4)`,
      [memberId, owner.organizationId, email, passwordHash],
    );
    const [viewer] = (
      await db.query<{ id: string }>(`SELECT id FROM roles WHERE organization_id = $1 AND system_key = 'viewer'`, [
        owner.organizationId,
      ])
    ).rows;
    const granted = await call<{ id: string }>(a.url, 'POST', `/api/v1/users/${memberId}/roles`, {
      token: owner.accessToken,
      body: { roleId: viewer.id, scope: { type: 'organization' } },
    });
    expect(granted.status).toBe(201);
    const member = await login(a.url, email);
    // B decides (and caches the member's grants).
    expect((await call(b.url, 'GET', '/api/v1/customers', { token: member.accessToken })).status).toBe(200);
    expect((await call(b.url, 'GET', '/api/v1/customers', { token: member.accessToken })).status).toBe(200);

    const removed = await call(a.url, 'DELETE', `/api/v1/users/${memberId}/roles/${granted.body.id}`, {
      token: owner.accessToken,
    });
    expect(removed.status).toBe(204);

    expectProblem(
      await call(b.url, 'GET', '/api/v1/customers', { token: member.accessToken }),
      403,
      'permission-denied',
    );
  });

  it('should honour on B an Idempotency-Key used on A: same response replayed, one customer created', async () => {
    const key = randomUUID();
    const body = { name: 'Idempotent Ada', email: `ada-${key.slice(0, 8)}@scale-out.test` };
    const first = await call<{ id: string }>(a.url, 'POST', '/api/v1/customers', {
      token: owner.accessToken,
      body,
      headers: { 'idempotency-key': key },
    });
    expect(first.status).toBe(201);
    const again = await call<{ id: string }>(b.url, 'POST', '/api/v1/customers', {
      token: owner.accessToken,
      body,
      headers: { 'idempotency-key': key },
    });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);

    // The same key sent to both at the same moment: still one customer.
    const raceKey = randomUUID();
    const raceBody = { name: 'Racing Grace', email: `grace-${raceKey.slice(0, 8)}@scale-out.test` };
    const race = await Promise.all(
      [a.url, b.url].map((base) =>
        call(base, 'POST', '/api/v1/customers', {
          token: owner.accessToken,
          body: raceBody,
          headers: { 'idempotency-key': raceKey },
        }),
      ),
    );
    expect(race.map((res) => res.status).sort()).toEqual(expect.arrayContaining([201]));
    for (const res of race) expect([201, 409]).toContain(res.status);

    const counts = await db.query<{ email: string; n: number }>(
      `SELECT email, count(*)::int AS n FROM customers WHERE organization_id = $1 AND email = ANY($2) GROUP BY email`,
      [owner.organizationId, [body.email, raceBody.email]],
    );
    expect(counts.rows.map((row) => row.n)).toEqual([1, 1]);
  });

  it('should publish each scheduled post exactly once with two workers, also when A and B reschedule it', async () => {
    const posts: { id: string }[] = [];
    for (let i = 0; i < 20; i++) {
      const base = i % 2 === 0 ? a.url : b.url;
      const created = await call<{ id: string }>(base, 'POST', '/api/v1/posts', {
        token: owner.accessToken,
        body: { title: `Scaled ${i}`, body: 'Text' },
      });
      expect(created.status).toBe(201);
      posts.push(created.body);
    }
    const due = Date.now() + 3000;
    for (const [i, post] of posts.entries()) {
      const schedule = (base: string, at: number) =>
        call<{ version: number }>(base, 'POST', `/api/v1/posts/${post.id}/schedule`, {
          token: owner.accessToken,
          body: { publishAt: new Date(at).toISOString() },
        });
      expect((await schedule(i % 2 === 0 ? a.url : b.url, due)).status).toBe(200);
      // Every fourth post is rescheduled through the other instance: only its latest schedule may publish.
      if (i % 4 === 0) expect((await schedule(i % 2 === 0 ? b.url : a.url, due + 500)).status).toBe(200);
    }

    const ids = posts.map((post) => post.id);
    await waitFor(
      async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM posts WHERE id = ANY($1) AND status = 'published'`,
          [ids],
        );
        return rows[0].n === ids.length ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'every post to be published' },
    );
    const audits = await db.query<{ id: string; n: number }>(
      `SELECT resource_id AS id, count(*)::int AS n FROM audit_logs
        WHERE action = 'posts.publish' AND resource_id = ANY($1) GROUP BY resource_id`,
      [ids],
    );
    expect(audits.rows).toHaveLength(ids.length);
    expect(audits.rows.every((row) => row.n === 1)).toBe(true);
    // Every due job runs to its end on one of the two workers (a rescheduled post's stale job too, as a no-op).
    // Waited for: a job logs "done" after its transaction committed, so under load the log trails the rows.
    const jobsDone = () =>
      workers
        .map((worker) => logLines(worker).filter((line) => line.msg === 'job publish done').length)
        .reduce((sum, n) => sum + n, 0);
    await waitFor(() => Promise.resolve(jobsDone() >= ids.length ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 250,
      what: 'every publish job to log its end',
    });
  }, 60_000);
});
