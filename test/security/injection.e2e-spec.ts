import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { createTestApp } from '../helpers/test-app';
import { expectNoInternals, expectProblemOf } from './support/expect';
import { ROUTE_FIXTURES } from './support/object-fixtures';
import { openApiDocument, operationsOf, type OpenApiDocument, type Operation } from './support/openapi';
import { ACCOUNT_ROUTE_REQUESTS, PERMISSION_ROUTE_REQUESTS } from './support/requests';
import { urlOf, type HttpMethod } from './support/route-table';
import { expectJson, OrgFixture, send, type Json } from './support/world';

/*
 * Hostile input on every documented parameter: SQL metacharacters in every query parameter of every GET
 * route and in string path parameters, prototype-pollution keys in every JSON body and in query strings,
 * operators and wrong types where strings are expected, repeated parameters. The server must answer 4xx
 * problem documents (never 5xx, never SQL), search must treat LIKE wildcards literally, and the process's
 * Object.prototype must stay clean.
 */

/** Characters and phrases that break naively built SQL, LIKE patterns and ORM named parameters. */
const SQL_PAYLOADS = [
  "'",
  '"',
  ';--',
  '/*',
  '*/',
  '\\',
  '%',
  '_',
  "' OR 1=1--",
  '" OR ""="',
  '1; DROP TABLE customers; --',
  ':organizationId',
  '$1',
  '\u2018\u2019\u201c\u201d',
  'a\u0000b',
  "-createdAt'",
  'name,(SELECT 1)',
];

function pollute(): Record<string, unknown> {
  return Object.prototype as Record<string, unknown>;
}

describe('Injection — ASVS 5.0 V1.2.4 (parameterized queries), V15.3.6 (prototype pollution), V15.3.5 (type confusion), V15.3.7 (parameter pollution), V2.2.1; API8:2023 Security Misconfiguration (Injection was API8:2019)', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let document: OpenApiDocument;
  let org: OrgFixture;
  let department: string;
  let publishedSlug: string;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    document = await openApiDocument(app);
    org = await OrgFixture.create(app, 'injection');
    department = await org.department();
    // Something for every list to find, named without any wildcard characters.
    await org.customer(department, { name: 'Plain Customer' });
    publishedSlug = (await org.post(department, 'published')).slug;
    await org.member(department);
    await org.media(department);
  });

  afterAll(async () => {
    await app.close();
  });

  /** A URL for the operation: real objects of `org` for path parameters. */
  async function baseUrl(op: Operation): Promise<string> {
    const fixture = ROUTE_FIXTURES[op.key];
    const params = fixture?.kind === 'object' ? (await fixture.build(org, department)).params : {};
    return urlOf({ path: op.key.split(' ')[1] }, { orgSlug: org.slug, slug: publishedSlug, ...params });
  }

  describe('SQL metacharacters in every query parameter of every GET route (ASVS V1.2.4)', () => {
    it('should never answer 5xx or leak SQL, whatever the parameter holds', async () => {
      const tableCount = async () =>
        (await db.query<{ n: number }[]>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'"))[0].n;
      const tablesBefore = await tableCount();
      const failures: string[] = [];
      let requests = 0;
      const gets = operationsOf(document).filter(
        (op) => op.method === 'GET' && (op.operation.parameters ?? []).some((p) => p.in === 'query'),
      );
      expect(gets.map((op) => op.key)).toEqual(
        expect.arrayContaining([
          'GET /api/v1/customers',
          'GET /api/v1/posts',
          'GET /api/v1/users',
          'GET /api/v1/audit-logs',
        ]),
      );
      for (const op of gets) {
        if (ROUTE_FIXTURES[op.key]?.kind === 'capability') continue;
        const url = await baseUrl(op);
        const params = (op.operation.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
        for (const name of params) {
          for (const payload of SQL_PAYLOADS) {
            requests++;
            const res = await send(app, 'GET', `${url}?${name}=${encodeURIComponent(payload)}`, org.owner.accessToken);
            if (res.statusCode >= 500)
              failures.push(`${op.key} ?${name}=${JSON.stringify(payload)}: ${res.statusCode}`);
            else if (
              res.statusCode >= 400 &&
              !String(res.headers['content-type']).startsWith('application/problem+json')
            )
              failures.push(`${op.key} ?${name}=${JSON.stringify(payload)}: ${res.statusCode} without problem+json`);
            expectNoInternals(res.body, `${op.key} ?${name}=${JSON.stringify(payload)}`);
          }
        }
      }
      expect(requests).toBeGreaterThan(500);
      expect(failures).toEqual([]);
      expect(await tableCount()).toBe(tablesBefore);
    });

    it('should never answer 5xx for metacharacters in string path parameters (slugs)', async () => {
      const failures: string[] = [];
      for (const payload of SQL_PAYLOADS) {
        const encoded = encodeURIComponent(payload);
        for (const url of [
          `/api/v1/posts/by-slug/${encoded}`,
          `/api/v1/public/${encoded}/posts`,
          `/api/v1/public/${org.slug}/posts/${encoded}`,
          `/api/v1/customers/${encoded}`,
        ]) {
          const res = await send(app, 'GET', url, org.owner.accessToken);
          if (res.statusCode >= 500 || res.statusCode < 400) failures.push(`${url}: ${res.statusCode}`);
          expectNoInternals(res.body, url);
        }
      }
      expect(failures).toEqual([]);
    });

    it('should refuse a NUL character in stored text with a 400, not a 500 (ASVS V16.5.1)', async () => {
      expectProblemOf(
        await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, { json: { name: 'nul\u0000byte' } }),
        400,
        'customer name with NUL',
      );
      expectProblemOf(await send(app, 'GET', '/api/v1/customers?q=a%00b', org.owner.accessToken), 400, 'q with NUL');
    });
  });

  describe('LIKE wildcards in search are literal (ASVS V1.2.4)', () => {
    const searches: [string, string, (body: Json) => unknown[]][] = [
      ['customers (ranked search)', '/api/v1/customers', (body) => body.data as unknown[]],
      ['posts', '/api/v1/posts', (body) => body.data as unknown[]],
      ['users', '/api/v1/users', (body) => body.data as unknown[]],
      ['media', '/api/v1/media', (body) => body.data as unknown[]],
    ];

    it.each(searches)('%s: q=%% and q=_ match nothing, a real word matches', async (_what, path, rows) => {
      const list = async (query: string) => {
        const res = await send(app, 'GET', `${path}?${query}`, org.owner.accessToken);
        if (res.statusCode === 400 && query.startsWith('q=')) return null; // the list has no q: nothing to escape
        return rows(expectJson<Json>(res, 200, `${path}?${query}`));
      };
      const everything = await list('limit=100');
      expect(everything?.length).toBeGreaterThan(0);
      for (const wildcard of ['%', '_', '%25%', '%_%', '\\', '\\%']) {
        const found = await list(`q=${encodeURIComponent(wildcard)}`);
        if (found !== null) expect({ q: wildcard, found: found.length }).toEqual({ q: wildcard, found: 0 });
      }
    });

    it('should match a search word literally (control: the escaping does not break search)', async () => {
      const res = expectJson<{ data: { name: string }[] }>(
        await send(app, 'GET', '/api/v1/customers?q=plain%20customer', org.owner.accessToken),
        200,
        'customers?q=',
      );
      expect(res.data.map((c) => c.name)).toContain('Plain Customer');
      const csv = await send(app, 'GET', '/api/v1/customers/export?q=%25', org.owner.accessToken);
      expect(csv.statusCode).toBe(200);
      expect(csv.body.trim().split(/\r?\n/)).toHaveLength(1); // the header only
    });
  });

  describe('prototype pollution (ASVS V15.3.6)', () => {
    afterEach(() => {
      // Whatever happened, the process's prototype must be clean for the next test.
      expect(Object.keys(Object.prototype)).toEqual([]);
      expect(pollute().isAdmin).toBeUndefined();
    });

    it('should refuse __proto__ and constructor.prototype keys in every JSON body with a 400 problem', async () => {
      const failures: string[] = [];
      const jsonOps = operationsOf(document).filter((op) => op.operation.requestBody?.content['application/json']);
      for (const op of jsonOps) {
        const fixture = ROUTE_FIXTURES[op.key];
        const target = fixture?.kind === 'object' ? await fixture.build(org, department) : { params: {} };
        const made = (PERMISSION_ROUTE_REQUESTS[op.key] ?? ACCOUNT_ROUTE_REQUESTS[op.key])?.(org);
        const base = JSON.stringify(('body' in target ? target.body?.json : undefined) ?? made?.body?.json ?? {}).slice(
          1,
          -1,
        );
        const url = urlOf({ path: op.key.split(' ')[1] }, target.params, made?.query);
        for (const poison of [
          '"__proto__":{"isAdmin":true,"polluted":"yes"}',
          '"constructor":{"prototype":{"isAdmin":true}}',
          '"nested":{"__proto__":{"isAdmin":true}}',
        ]) {
          const payload = `{${base}${base ? ',' : ''}${poison}}`;
          const res = await send(app, op.method as HttpMethod, url, org.owner.accessToken, {
            raw: { payload, contentType: 'application/json' },
          });
          if (res.statusCode !== 400) failures.push(`${op.key} ${poison}: ${res.statusCode} ${res.body.slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });

    it('should refuse __proto__ inside free-form JSON (custom fields) too', async () => {
      const res = await send(app, 'POST', '/api/v1/customers', org.owner.accessToken, {
        raw: { payload: '{"name":"x","customFields":{"__proto__":{"isAdmin":true}}}', contentType: 'application/json' },
      });
      expectProblemOf(res, 400, 'customFields.__proto__');
    });

    it('should not let query strings reach Object.prototype', async () => {
      for (const query of [
        '__proto__[isAdmin]=true',
        '__proto__.isAdmin=true',
        'constructor[prototype][isAdmin]=true',
        '__proto__=polluted',
        'constructor=polluted',
      ]) {
        const res = await send(app, 'GET', `/api/v1/customers?${query}`, org.owner.accessToken);
        // Refused as unknown parameters (400 naming them) or ignored; either way nothing reached a prototype.
        expect({ query, status: [200, 400].includes(res.statusCode) }).toEqual({ query, status: true });
        if (res.statusCode === 200) expect(JSON.stringify(res.json())).not.toContain('isAdmin');
      }
      // A request after the attempts sees a clean prototype in its own handling too.
      const me = expectJson<Json>(await send(app, 'GET', '/api/v1/auth/me', org.owner.accessToken), 200, 'me');
      expect(me).not.toHaveProperty('isAdmin');
    });
  });

  describe('operators and wrong types where strings are expected (ASVS V15.3.5, V2.2.1)', () => {
    const cases: [string, HttpMethod, string, () => Json, string[]][] = [
      [
        'login with $ne operators',
        'POST',
        '/auth/login',
        () => ({ email: { $ne: null }, password: { $ne: null } }),
        ['email', 'password'],
      ],
      [
        'login with arrays',
        'POST',
        '/auth/login',
        () => ({ email: [org.owner.email], password: ['x'] }),
        ['email', 'password'],
      ],
      [
        'login with a boolean password',
        'POST',
        '/auth/login',
        () => ({ email: org.owner.email, password: true }),
        ['password'],
      ],
      ['refresh with an operator', 'POST', '/auth/refresh', () => ({ refreshToken: { $gt: '' } }), ['refreshToken']],
      [
        'an OTP code as a number',
        'POST',
        '/auth/otp/verify',
        () => ({ email: org.owner.email, purpose: 'login', code: 123456 }),
        ['code'],
      ],
      [
        'an OTP purpose as an operator',
        'POST',
        '/auth/otp/request',
        () => ({ email: org.owner.email, purpose: { $in: ['login'] } }),
        ['purpose'],
      ],
      ['a customer name as an object', 'POST', '/customers', () => ({ name: { $gt: '' } }), ['name']],
      ['customer tags as a string', 'POST', '/customers', () => ({ name: 'x', tags: 'vip' }), ['tags']],
      [
        'custom fields as an array',
        'POST',
        '/customers',
        () => ({ name: 'x', customFields: [1, 2] }),
        ['customFields'],
      ],
      [
        'a department id as an object',
        'POST',
        '/customers',
        () => ({ name: 'x', departmentId: { $ne: null } }),
        ['departmentId'],
      ],
      ['role permissions as a string', 'POST', '/roles', () => ({ name: 'x', permissions: '*:*' }), ['permissions']],
      [
        'a role scope as a string',
        'POST',
        `/users/${'0'.repeat(8)}-0000-7000-8000-${'0'.repeat(12)}/roles`,
        () => ({ roleId: org.id, scope: 'organization' }),
        ['scope'],
      ],
    ];

    it.each(cases)('should answer 400 naming the field for %s', async (_what, method, path, body, fields) => {
      const res = await send(app, method, `/api/v1${path}`, org.owner.accessToken, { json: body() });
      expectProblemOf(res, 400, path);
      const named = new Set(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field));
      expect([...named].filter((field) => fields.includes(field)).sort()).toEqual([...fields].sort());
    });

    it('should not have signed anyone in through any of them', async () => {
      const sessions = await db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [
        org.owner.userId,
      ]);
      expect(sessions[0].n).toBe(1); // the registration's own
    });
  });

  describe('HTTP parameter pollution (ASVS V15.3.7)', () => {
    // Repeated parameters are arrays where one value is expected; bracket syntax is not parsed into objects,
    // so `q[$ne]` is an unknown parameter of that literal name.
    const repeated: [string, string][] = [
      ['sort', 'sort=name&sort=-name'],
      ['q', 'q=a&q=b'],
      ['limit', 'limit=1&limit=100'],
      ['cursor', 'cursor=a&cursor=b'],
      ['limit[]', 'limit[]=1'],
      ['q[$ne]', 'q[$ne]=x'],
      ['createdFrom[$gt]', 'createdFrom[$gt]=2020-01-01'],
    ];

    it.each(repeated)('should answer 400 naming %s for ?%s', async (field, query) => {
      const res = await send(app, 'GET', `/api/v1/customers?${query}`, org.owner.accessToken);
      expectProblemOf(res, 400, query);
      expect(res.json<{ errors: { field: string }[] }>().errors.map((e) => e.field)).toContain(field);
    });
  });
});
