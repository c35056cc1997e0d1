import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { createApiApp } from '../src/api-app';
import {
  CREATE_PROBE_TABLE,
  IdempotencyProbeModule,
  PROBE_AUDIT_ACTION,
  PROBE_TABLE,
  probeControl,
} from './fixtures/idempotency-probe.module';
import { auditEntries } from './helpers/audit';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { insertMember, loginAs } from './helpers/fixtures';
import { expectProblem } from './helpers/problem';
import { testConfig } from './helpers/test-app';

const BASE = '/api/v1/idempotency-probe';

describe('Idempotency-Key (@Idempotent)', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let owner: TestAccount;

  beforeAll(async () => {
    app = await createApiApp(testConfig({ RATE_LIMIT_MAX: '10000' }), { extraModules: [IdempotencyProbeModule] });
    await app.init();
    await app.getHttpAdapter().getInstance().ready();
    db = app.get(DataSource);
    await db.query(CREATE_PROBE_TABLE);
    owner = await registerOwner(app, 'idem');
  });

  afterAll(async () => {
    await db.query(`DROP TABLE IF EXISTS ${PROBE_TABLE}`);
    await app.close();
  });

  afterEach(() => {
    probeControl.failNext = 0;
  });

  function post(
    path: string,
    payload: Record<string, unknown>,
    options: { key?: string; token?: string; anonymous?: boolean; ip?: string } = {},
  ): Promise<LightMyRequestResponse> {
    const headers: Record<string, string> = {};
    if (options.key !== undefined) headers['idempotency-key'] = options.key;
    if (!options.anonymous) Object.assign(headers, bearer(options.token ?? owner.accessToken));
    return app.inject({ method: 'POST', url: `${BASE}${path}`, headers, payload, remoteAddress: options.ip });
  }

  async function rowsNamed(name: string): Promise<{ id: string; owner: string; list: string | null }[]> {
    return db.query(`SELECT id, owner, list FROM ${PROBE_TABLE} WHERE name = $1 ORDER BY created_at`, [name]);
  }

  function uniqueName(): string {
    return `item-${randomUUID()}`;
  }

  it('should run the handler once and replay its response for a retry with the same key and body', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await post('/items', { name }, { key });
    expect(first.statusCode).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();

    const retry = await post('/items', { name }, { key });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.headers['content-type']).toMatch(/^application\/json/);
    expect(retry.json()).toEqual(first.json());
    expect(await rowsNamed(name)).toHaveLength(1);
  });

  it('should treat a body with the same members in another order as the same request', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await post('/items', { name, delayMs: 0 }, { key });
    const retry = await post('/items', { delayMs: 0, name }, { key });
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
    expect(await rowsNamed(name)).toHaveLength(1);
  });

  it('should replay the status the route answered with, not a default', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await post('/accepted', { name }, { key });
    expect(first.statusCode).toBe(202);
    const retry = await post('/accepted', { name }, { key });
    expect(retry.statusCode).toBe(202);
    expect(retry.headers['idempotent-replayed']).toBe('true');
    expect(retry.json()).toEqual(first.json());
  });

  it.each(['/items', '/accepted'])('should not audit a replay again (%s)', async (path) => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await post(path, { name }, { key });
    await post(path, { name }, { key });
    await post(path, { name }, { key });
    const id = first.json<{ id: string }>().id;
    const entries = (await auditEntries(app, owner.organizationId)).filter(
      (e) => e.action === PROBE_AUDIT_ACTION && e.resourceId === id,
    );
    expect(entries).toHaveLength(1);
  });

  it('should answer 422 idempotency-key-reused for the same key with another body, and keep the first result', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await post('/items', { name }, { key });
    expect(first.statusCode).toBe(201);

    const other = await post('/items', { name: uniqueName() }, { key });
    expectProblem(other, 422, 'idempotency-key-reused');

    const retry = await post('/items', { name }, { key });
    expect(retry.json()).toEqual(first.json());
    expect(await rowsNamed(name)).toHaveLength(1);
  });

  it('should count the route params as part of the request', async () => {
    const key = randomUUID();
    const name = uniqueName();
    expect((await post('/lists/a/items', { name }, { key })).statusCode).toBe(201);
    expectProblem(await post('/lists/b/items', { name }, { key }), 422, 'idempotency-key-reused');
    expect((await post('/lists/a/items', { name }, { key })).headers['idempotent-replayed']).toBe('true');
    expect(await rowsNamed(name)).toEqual([expect.objectContaining({ list: 'a' })]);
  });

  it('should scope keys to the route: the same key on another route is another request', async () => {
    const key = randomUUID();
    const name = uniqueName();
    expect((await post('/items', { name }, { key })).statusCode).toBe(201);
    const elsewhere = await post('/accepted', { name }, { key });
    expect(elsewhere.statusCode).toBe(202);
    expect(elsewhere.headers['idempotent-replayed']).toBeUndefined();
    expect(await rowsNamed(name)).toHaveLength(2);
  });

  it('should answer 409 idempotency-key-in-progress with Retry-After while the first request runs', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const slow = post('/items', { name, delayMs: 700 }, { key });
    await waitForKey(key);
    const early = await post('/items', { name, delayMs: 700 }, { key });
    const body = expectProblem(early, 409, 'idempotency-key-in-progress');
    expect(early.headers['retry-after']).toBe('1');
    expect(body.retryAfterSeconds).toBe(1);

    const first = await slow;
    expect(first.statusCode).toBe(201);
    const later = await post('/items', { name, delayMs: 700 }, { key });
    expect(later.headers['idempotent-replayed']).toBe('true');
    expect(later.json()).toEqual(first.json());
  });

  it('should create exactly one row for 10 concurrent requests with the same key', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => post('/items', { name, delayMs: 200 }, { key })),
    );
    expect(await rowsNamed(name)).toHaveLength(1);
    const created = responses.filter((r) => r.statusCode === 201);
    const conflicts = responses.filter((r) => r.statusCode === 409);
    expect(created.length + conflicts.length).toBe(10);
    expect(created.filter((r) => r.headers['idempotent-replayed'] === undefined)).toHaveLength(1);
    const [original] = created;
    for (const response of created) expect(response.json()).toEqual(original.json());
    for (const response of conflicts) expectProblem(response, 409, 'idempotency-key-in-progress');
    // Once the first is done, every retry gets its response.
    const retry = await post('/items', { name, delayMs: 200 }, { key });
    expect(retry.json()).toEqual(original.json());
  });

  it('should release the key when the handler fails, so that the client can retry', async () => {
    const key = randomUUID();
    const name = uniqueName();
    probeControl.failNext = 1;
    expectProblem(await post('/items', { name }, { key }), 500, 'internal-error');
    expect(await keyRows(key)).toHaveLength(0);

    const retry = await post('/items', { name }, { key });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expect(await rowsNamed(name)).toHaveLength(1);
  });

  it('should release the key when the body fails validation', async () => {
    const key = randomUUID();
    const name = uniqueName();
    expectProblem(await post('/items', { name, extra: true }, { key }), 400, 'validation-failed');
    const retry = await post('/items', { name }, { key });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
  });

  it('should not let users of different organizations collide on a key', async () => {
    const other = await registerOwner(app, 'idem-other');
    const key = randomUUID();
    const name = uniqueName();
    const mine = await post('/items', { name }, { key });
    const theirs = await post('/items', { name }, { key, token: other.accessToken });
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(theirs.json<{ id: string }>().id).not.toBe(mine.json<{ id: string }>().id);
    expect((await rowsNamed(name)).map((r) => r.owner).sort()).toEqual([owner.userId, other.userId].sort());
  });

  it('should not let two users of one organization collide on a key', async () => {
    const member = await insertMember(app, owner.organizationId, { label: 'idem-member' });
    const token = await loginAs(app, member.email);
    const key = randomUUID();
    const name = uniqueName();
    expect((await post('/items', { name }, { key })).statusCode).toBe(201);
    const theirs = await post('/items', { name }, { key, token });
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers['idempotent-replayed']).toBeUndefined();
    expect(await rowsNamed(name)).toHaveLength(2);
  });

  it('should scope the keys of anonymous callers to their IP address', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const a = await post('/public/items', { name }, { key, anonymous: true, ip: '198.51.100.7' });
    const again = await post('/public/items', { name }, { key, anonymous: true, ip: '198.51.100.7' });
    const b = await post('/public/items', { name }, { key, anonymous: true, ip: '198.51.100.8' });
    expect(a.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(b.statusCode).toBe(201);
    expect(b.headers['idempotent-replayed']).toBeUndefined();
    expect(await rowsNamed(name)).toHaveLength(2);
  });

  it.each([
    ['empty', ''],
    ['longer than 255 characters', 'k'.repeat(256)],
    ['a control character', 'key\twith-tab'],
    ['non-ASCII', 'clé'],
  ])('should answer 400 naming the header for a key that is %s', async (_label, key) => {
    const name = uniqueName();
    const res = await post('/items', { name }, { key });
    const body = expectProblem(res, 400, 'idempotency-key-invalid');
    expect(body.detail).toContain('Idempotency-Key');
    expect(body.errors).toEqual([{ field: 'Idempotency-Key', message: expect.any(String) }]);
    expect(await rowsNamed(name)).toHaveLength(0);
  });

  it('should accept a key of exactly 255 printable characters', async () => {
    const key = `${randomUUID()} ~!`.padEnd(255, 'x');
    const res = await post('/items', { name: uniqueName() }, { key });
    expect(res.statusCode).toBe(201);
  });

  it('should run the handler every time when no key is sent', async () => {
    const name = uniqueName();
    await post('/items', { name });
    await post('/items', { name });
    expect(await rowsNamed(name)).toHaveLength(2);
  });

  it('should treat an expired key as new, for the same body and for another', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const first = await post('/items', { name }, { key });
    await expireKey(key);
    const again = await post('/items', { name }, { key });
    expect(again.statusCode).toBe(201);
    expect(again.headers['idempotent-replayed']).toBeUndefined();
    expect(again.json<{ id: string }>().id).not.toBe(first.json<{ id: string }>().id);

    await expireKey(key);
    const otherName = uniqueName();
    const other = await post('/items', { name: otherName }, { key });
    expect(other.statusCode).toBe(201);
    expect(await rowsNamed(name)).toHaveLength(2);
    expect(await rowsNamed(otherName)).toHaveLength(1);
    expect(await keyRows(key)).toEqual([expect.objectContaining({ status: 'completed' })]);
  });

  it('should remember a completed key for IDEMPOTENCY_TTL_SECONDS', async () => {
    const key = randomUUID();
    await post('/items', { name: uniqueName() }, { key });
    const [row] = await keyRows(key);
    const ttlMs = new Date(row.expires_at).getTime() - new Date(row.created_at).getTime();
    expect(Math.abs(ttlMs - 86_400_000)).toBeLessThan(60_000);
  });

  it('should let an in-progress key whose request died be claimed again once its lock expires', async () => {
    const key = randomUUID();
    const name = uniqueName();
    const slow = post('/items', { name, delayMs: 600 }, { key });
    await waitForKey(key);
    await expireKey(key); // as if the process running it had crashed IDEMPOTENCY_LOCK_SECONDS ago
    const takeover = await post('/items', { name }, { key });
    expect(takeover.statusCode).toBe(201);
    expect(takeover.headers['idempotent-replayed']).toBeUndefined();
    // The first request still answers, but does not overwrite the record of the request that took over.
    expect((await slow).statusCode).toBe(201);
    const replay = await post('/items', { name }, { key });
    expect(replay.json()).toEqual(takeover.json());
  });

  it('should document the Idempotency-Key header and its problems in OpenAPI', async () => {
    const res = await app.inject('/docs-json');
    const operation = res.json<{
      paths: Record<string, { post: { parameters: { name: string; in: string }[]; responses: object } }>;
    }>().paths[`${BASE}/items`].post;
    expect(operation.parameters).toContainEqual(
      expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: false }),
    );
    expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['400', '409', '422']));
  });

  async function keyRows(
    key: string,
  ): Promise<{ scope: string; status: string; created_at: Date; expires_at: Date; response_status: number | null }[]> {
    return db.query(
      'SELECT scope, status, created_at, expires_at, response_status FROM idempotency_keys WHERE key = $1',
      [key],
    );
  }

  async function expireKey(key: string): Promise<void> {
    await db.query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE key = $1", [key]);
  }

  async function waitForKey(key: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      if ((await keyRows(key)).length) return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`key ${key} was never claimed`);
  }
});
