import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { testConfig, createTestApp } from '../helpers/test-app';
import { expectProblemOf } from './support/expect';
import { ROUTE_FIXTURES } from './support/object-fixtures';
import { openApiDocument, operationsOf, type OpenApiDocument } from './support/openapi';
import { urlOf } from './support/route-table';
import { OrgFixture, send } from './support/world';

/*
 * Requests built to cost the server more than they are worth: bodies over BODY_LIMIT_BYTES, JSON nested far
 * deeper than any real document, page sizes from huge to nonsensical, very long strings and arrays. Each must
 * be a cheap 4xx problem document, never a 5xx or a crash, and the process keeps serving.
 */

describe('API4:2023 Unrestricted Resource Consumption — ASVS 5.0 V2.2.1 (input limits), V15.2.2 (availability), V16.5.3', () => {
  let app: NestFastifyApplication;
  let document: OpenApiDocument;
  let org: OrgFixture;
  let department: string;
  const bodyLimit = testConfig().http.bodyLimit;

  beforeAll(async () => {
    app = await createTestApp();
    document = await openApiDocument(app);
    org = await OrgFixture.create(app, 'consumption');
    department = await org.department();
  });

  afterAll(async () => {
    await app.close();
  });

  describe('body size (BODY_LIMIT_BYTES)', () => {
    const oversized = () => JSON.stringify({ name: 'x'.repeat(bodyLimit) });

    it.each([
      ['POST', '/api/v1/auth/login', false],
      ['POST', '/api/v1/auth/register', false],
      ['POST', '/api/v1/customers', true],
      ['POST', '/api/v1/posts', true],
    ] as const)('should answer 413 payload-too-large to %s %s', async (method, url, authenticated) => {
      const res = await send(app, method, url, authenticated ? org.owner.accessToken : null, {
        raw: { payload: oversized(), contentType: 'application/json' },
      });
      expectProblemOf(res, 413, `${method} ${url} with ${bodyLimit + 12} bytes`);
      expect(res.json<{ type: string }>().type).toBe('urn:atrium:problem:payload-too-large');
    });

    it('should accept a body just under the limit (control: the limit is the configured one)', async () => {
      const filler = 'y'.repeat(bodyLimit - 200);
      const res = await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        raw: { payload: JSON.stringify({ name: 'x', customFields: { filler } }), contentType: 'application/json' },
      });
      // Under the body limit, the custom-field size rule (16 KiB) refuses it: a validation 400, not a 413.
      expectProblemOf(res, 400, 'body under the limit');
      expect(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(['customFields']);
    });

    it('should refuse a CSV import over CUSTOMER_IMPORT_MAX_BYTES with 413', async () => {
      const max = testConfig().customers.importMaxBytes;
      const csv = `name\r\n${'a'.repeat(max)}\r\n`;
      const res = await send(app, 'POST', '/api/v1/customers/import', org.owner.accessToken, {
        raw: { payload: csv, contentType: 'text/csv' },
      });
      expectProblemOf(res, 413, 'oversized CSV');
    });
  });

  describe('deeply nested JSON', () => {
    const nestedObject = (depth: number) => `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    const nestedArray = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

    it.each([
      ['an array 10,000 levels deep as the body', () => nestedArray(10_000)],
      ['an object 10,000 levels deep as the body', () => nestedObject(10_000)],
      ['custom fields 10,000 levels deep', () => `{"name":"x","customFields":${nestedObject(10_000)}}`],
      ['custom fields 100 levels deep', () => `{"name":"x","customFields":${nestedObject(100)}}`],
    ])('should answer a 400 problem to %s, quickly', async (_what, payload) => {
      const started = Date.now();
      const res = await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        raw: { payload: payload(), contentType: 'application/json' },
      });
      expectProblemOf(res, 400, 'deep JSON');
      expect(Date.now() - started).toBeLessThan(2000);
    });

    it('should still accept realistic nesting in custom fields (control)', async () => {
      const res = await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        raw: { payload: `{"name":"nested","customFields":${nestedObject(20)}}`, contentType: 'application/json' },
      });
      expect(res.statusCode).toBe(201);
    });

    it('should not count brackets inside strings as nesting (control)', async () => {
      const res = await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        json: { name: '[[[[{{{{'.repeat(20), customFields: { note: '{"a":'.repeat(100) } },
      });
      expect(res.statusCode).toBe(201);
    });

    it('should keep serving after the deep bodies', async () => {
      expect((await send(app, 'GET', '/api/v1/auth/me', org.owner.accessToken)).statusCode).toBe(200);
    });
  });

  describe('page size (?limit) on every list route', () => {
    const BAD_LIMITS = ['1e9', '1000000000', '-1', '0', 'abc', '1.5', '101', '1e1000', 'Infinity', 'NaN', ''];

    it('should answer 400 naming limit for every absurd value, on every route that takes one', async () => {
      const lists = operationsOf(document).filter((op) =>
        (op.operation.parameters ?? []).some((p) => p.in === 'query' && p.name === 'limit'),
      );
      expect(lists.length).toBeGreaterThanOrEqual(8);
      const failures: string[] = [];
      for (const op of lists) {
        const fixture = ROUTE_FIXTURES[op.key];
        const params = fixture?.kind === 'object' ? (await fixture.build(org, department)).params : {};
        const base = urlOf({ path: op.key.split(' ')[1] }, { orgSlug: org.slug, ...params });
        const token = fixture?.kind === 'public' ? null : org.owner.accessToken;
        for (const limit of BAD_LIMITS) {
          const res = await send(app, 'GET', `${base}?limit=${encodeURIComponent(limit)}`, token);
          const fields =
            res.statusCode === 400 ? res.json<{ errors?: { field: string }[] }>().errors?.map((e) => e.field) : [];
          if (!fields?.includes('limit'))
            failures.push(`${op.key} ?limit=${limit}: ${res.statusCode} ${res.body.slice(0, 160)}`);
        }
        const max = await send(app, 'GET', `${base}?limit=100`, token);
        if (max.statusCode !== 200) failures.push(`${op.key} ?limit=100 (the maximum): ${max.statusCode}`);
      }
      expect(failures).toEqual([]);
    });
  });

  describe('long strings and arrays', () => {
    it('should refuse a 10,000-character search and an oversized tag list naming the field', async () => {
      const q = await send(app, 'GET', `/api/v1/customers?q=${'a'.repeat(10_000)}`, org.owner.accessToken);
      expectProblemOf(q, 400, 'long q');
      expect(q.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toContain('q');
      const tags = await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        json: { name: 'x', tags: Array.from({ length: 10_000 }, (_, i) => `t${i}`) },
      });
      expectProblemOf(tags, 400, 'many tags');
      expect(tags.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toContain('tags');
    });

    it('should refuse an over-long password before hashing it (bcrypt cost is per byte of work)', async () => {
      const res = await send(app, 'POST', '/api/v1/auth/login', null, {
        json: { email: org.owner.email, password: 'p'.repeat(100_000) },
      });
      expectProblemOf(res, 400, 'long password');
      expect(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toEqual(['password']);
    });
  });
});
