import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { expectProblemOf, isSuccess } from './support/expect';
import {
  ROUTE_FIXTURES,
  type CapabilityRouteFixture,
  type ObjectRouteFixture,
  type RouteFixture,
} from './support/object-fixtures';
import { apiRoutes, urlOf, type ApiRoute, type HttpMethod } from './support/route-table';
import { expectJson, multipartFile, OrgFixture, send, snapshot, type Json } from './support/world';

/*
 * Every route with a path parameter (from the route table of the running app), attacked with real objects:
 * another organization's, and those of a department outside the caller's grants. The caller is always the
 * strongest one of its kind (organization-wide `*:*`; `*:*` on another department), so only object-level
 * checks can stop it. Every attack is paired with the same request by the rightful owner on an object of its
 * own (the control), so a request refused for a reason other than authorization (a bad body) cannot pass
 * for a protected route.
 */

function entriesOf<K extends RouteFixture['kind']>(kind: K): [string, Extract<RouteFixture, { kind: K }>][] {
  return Object.entries(ROUTE_FIXTURES).filter(
    (entry): entry is [string, Extract<RouteFixture, { kind: K }>] => entry[1].kind === kind,
  );
}

function parseKey(key: string): { method: HttpMethod; path: string } {
  const [method, path] = key.split(' ');
  return { method: method as HttpMethod, path };
}

const OBJECT_ROUTES = entriesOf('object');
const CAPABILITY_ROUTES = entriesOf('capability');

describe('API1:2023 Broken Object Level Authorization — ASVS 5.0 V8.2.2 (data-specific access), V8.4.1 (cross-tenant)', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let routes: ApiRoute[];
  let orgA: OrgFixture;
  let orgB: OrgFixture;
  /** A department of B where B's objects live. */
  let departmentB: string;
  /** A's departments: the scoped member's (D1) and another one (D2) where the attacked objects live. */
  let departmentA1: string;
  let departmentA2: string;
  /** A member of A holding `*:*` on D1 only. */
  let scopedToken: string;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    routes = apiRoutes(app);
    [orgA, orgB] = await Promise.all([OrgFixture.create(app, 'bola-a'), OrgFixture.create(app, 'bola-b')]);
    [departmentA1, departmentA2, departmentB] = await Promise.all([
      orgA.department(),
      orgA.department(),
      orgB.department(),
    ]);
    const everything = await insertRole(app, orgA.id, ['*:*'], 'department head');
    const member = await insertMember(app, orgA.id, {
      label: 'dept-head',
      departmentId: departmentA1,
      assignments: [{ roleId: everything, departmentId: departmentA1 }],
    });
    scopedToken = await loginAs(app, member.email);
  });

  afterAll(async () => {
    await app.close();
  });

  describe('the fixture table (test/security/support/object-fixtures.ts)', () => {
    it('should cover every route with a path parameter, so a new :id route is attacked or consciously listed', () => {
      const missing = routes
        .filter((route) => route.params.length > 0 && !(route.key in ROUTE_FIXTURES))
        .map((route) => `${route.key} (${route.name})`);
      expect({ routesWithoutFixture: missing }).toEqual({ routesWithoutFixture: [] });
    });

    it('should name only routes that exist', () => {
      const served = new Set(routes.map((route) => route.key));
      expect(Object.keys(ROUTE_FIXTURES).filter((key) => !served.has(key))).toEqual([]);
    });

    it('should attack object routes of every permission-checked service', () => {
      const services = new Set(OBJECT_ROUTES.map(([key]) => /^\w+ \/api\/v1\/([\w-]+)/.exec(key)?.[1]).filter(Boolean));
      expect([...services].sort()).toEqual(
        expect.arrayContaining(['audit-logs', 'auth', 'customers', 'departments', 'media', 'posts', 'roles', 'users']),
      );
    });
  });

  describe('another organization’s objects (ASVS V8.4.1): its owner gets 404 and nothing changes', () => {
    it.each(OBJECT_ROUTES)('%s', async (key, fixture: ObjectRouteFixture) => {
      const { method, path } = parseKey(key);
      const target = await fixture.build(orgB, departmentB);
      const before = await snapshot(db, target.watch);
      const res = await send(
        app,
        method,
        urlOf({ path }, target.params, target.query),
        orgA.owner.accessToken,
        target.body,
      );
      expectProblemOf(res, fixture.crossTenant, `${key} by another organization's owner`);
      expect(await snapshot(db, target.watch)).toEqual(before);
    });
  });

  describe('a department outside the caller’s grants (ASVS V8.2.2): not 2xx, nothing changes', () => {
    it.each(OBJECT_ROUTES)('%s', async (key, fixture: ObjectRouteFixture) => {
      const { method, path } = parseKey(key);
      const target = await fixture.build(orgA, departmentA2);
      const before = await snapshot(db, target.watch);
      const res = await send(app, method, urlOf({ path }, target.params, target.query), scopedToken, target.body);
      if ('allowedByDesign' in fixture.outOfScope) {
        // Documented exception (reads only): the row stays as it was all the same.
        expect({ key, method, status: res.statusCode }).toEqual({ key, method: 'GET', status: 200 });
      } else {
        expectProblemOf(res, fixture.outOfScope.status, `${key} by a member scoped to another department`);
      }
      expect(await snapshot(db, target.watch)).toEqual(before);
    });
  });

  describe('the control: the same request by the rightful owner on its own object succeeds', () => {
    it.each(OBJECT_ROUTES)('%s', async (key, fixture: ObjectRouteFixture) => {
      const { method, path } = parseKey(key);
      const target = await fixture.build(orgA, departmentA2);
      const res = await send(
        app,
        method,
        urlOf({ path }, target.params, target.query),
        orgA.owner.accessToken,
        target.body,
      );
      if (res.statusCode !== fixture.ok)
        throw new Error(`${key}: expected ${fixture.ok}, got ${res.statusCode} ${res.body}`);
    });
  });

  describe('capability links (the path is a signed token): a guessed or edited one never works', () => {
    it.each(CAPABILITY_ROUTES)('%s', async (key, fixture: CapabilityRouteFixture) => {
      const { method, path } = parseKey(key);
      const target = await fixture.build(orgB, departmentB);
      const before = await snapshot(db, target.watch);
      for (const token of [null, orgA.owner.accessToken, orgB.owner.accessToken]) {
        const res = await send(app, method, urlOf({ path }, target.params), token);
        expect({ key, status: res.statusCode, success: isSuccess(res.statusCode) }).toMatchObject({
          key,
          success: false,
        });
        expect(res.statusCode).toBeLessThan(500);
      }
      expect(await snapshot(db, target.watch)).toEqual(before);
    });

    it('should serve a real download link, and refuse it once edited (control)', async () => {
      const { id } = await orgA.media(departmentA2);
      const link = expectJson<{ url: string }>(
        await send(app, 'GET', `/api/v1/media/${id}/url`, orgA.owner.accessToken),
        200,
        'GET /media/:id/url',
      );
      const { pathname, search } = new URL(link.url, 'http://localhost');
      expect((await send(app, 'GET', `${pathname}${search}`, null)).statusCode).toBe(200);
      const edited = `${pathname.slice(0, -3)}${pathname.slice(-3) === 'AAA' ? 'BBB' : 'AAA'}${search}`;
      const res = await send(app, 'GET', edited, null);
      expect(isSuccess(res.statusCode)).toBe(false);
      expect(res.statusCode).toBeLessThan(500);
    });
  });

  describe('public reads by organization slug: only what the organization published', () => {
    it('should never serve another organization’s or an unpublished post, by slug or in the list', async () => {
      const [draft, archived, published] = [
        await orgB.post(departmentB),
        await orgB.post(departmentB, 'archived'),
        await orgB.post(departmentB, 'published'),
      ];
      const ownPublished = await orgA.post(departmentA2, 'published');
      const bySlug = (orgSlug: string, slug: string) =>
        send(app, 'GET', `/api/v1/public/${orgSlug}/posts/${slug}`, null);
      expect((await bySlug(orgB.slug, published.slug)).statusCode).toBe(200);
      for (const [what, res] of [
        ['draft', await bySlug(orgB.slug, draft.slug)],
        ['archived', await bySlug(orgB.slug, archived.slug)],
        ['another organization’s', await bySlug(orgB.slug, ownPublished.slug)],
      ] as const) {
        expectProblemOf(res, 404, `public read of a ${what} post`);
      }
      const list = expectJson<{ data: { slug: string }[] }>(
        await send(app, 'GET', `/api/v1/public/${orgB.slug}/posts?limit=100`, null),
        200,
        'public list',
      );
      const slugs = list.data.map((post) => post.slug);
      expect(slugs).toContain(published.slug);
      expect(slugs).not.toEqual(expect.arrayContaining([draft.slug]));
      expect(slugs).not.toEqual(expect.arrayContaining([archived.slug]));
      expect(slugs).not.toEqual(expect.arrayContaining([ownPublished.slug]));
    });
  });

  describe('references to foreign objects in bodies and queries (ASVS V8.2.2)', () => {
    /** Object ids of B that A's requests name. */
    let foreign: { department: string; user: string; role: string; customer: string; media: string };
    let own: { customer: string; department: string; member: string; role: string };

    beforeAll(async () => {
      const bMember = await orgB.member(departmentB);
      foreign = {
        department: departmentB,
        user: bMember,
        role: await orgB.role(['customers:read']),
        customer: await orgB.customer(departmentB),
        media: (await orgB.media(departmentB)).id,
      };
      own = {
        customer: await orgA.customer(departmentA2),
        department: await orgA.department(departmentA2),
        member: await orgA.member(departmentA2),
        role: await orgA.role([]),
      };
      // B's trail gets entries about the objects above, so filters on them would find something to leak.
      await orgB.auditEntry();
    });

    // [what, method, url, body, statuses]: 404 unless the route names the field instead (400).
    const writes: [string, HttpMethod, () => string, () => Json, number[]?][] = [
      [
        'a customer in a foreign department',
        'POST',
        () => '/customers',
        () => ({ name: 'x', departmentId: foreign.department }),
      ],
      ['a customer owned by a foreign user', 'POST', () => '/customers', () => ({ name: 'x', ownerId: foreign.user })],
      [
        'a customer moved to a foreign department',
        'PATCH',
        () => `/customers/${own.customer}`,
        () => ({ departmentId: foreign.department }),
      ],
      [
        'a customer given a foreign owner',
        'PATCH',
        () => `/customers/${own.customer}`,
        () => ({ ownerId: foreign.user }),
      ],
      [
        'a post in a foreign department',
        'POST',
        () => '/posts',
        () => ({ title: 'x', departmentId: foreign.department }),
      ],
      [
        'a post with a foreign cover',
        'POST',
        () => '/posts',
        () => ({ title: 'x', coverMediaId: foreign.media }),
        [400, 404],
      ],
      [
        'a user invited into a foreign department',
        'POST',
        () => '/users',
        () => ({ email: 'bola-invite@example.test', name: 'x', departmentId: foreign.department }),
      ],
      [
        'a user moved to a foreign department',
        'PATCH',
        () => `/users/${own.member}`,
        () => ({ departmentId: foreign.department }),
      ],
      [
        'a department under a foreign parent',
        'POST',
        () => '/departments',
        () => ({ name: 'x', parentId: foreign.department }),
      ],
      [
        'a department moved under a foreign parent',
        'PATCH',
        () => `/departments/${own.department}`,
        () => ({ parentId: foreign.department }),
      ],
      [
        'a foreign role assigned',
        'POST',
        () => `/users/${own.member}/roles`,
        () => ({ roleId: foreign.role, scope: { type: 'organization' } }),
      ],
      [
        'a role assigned at a foreign department',
        'POST',
        () => `/users/${own.member}/roles`,
        () => ({ roleId: own.role, scope: { type: 'department', departmentId: foreign.department } }),
      ],
      [
        'an upload into a foreign department',
        'POST',
        () => '/media/uploads',
        () => ({ filename: 'a.pdf', departmentId: foreign.department }),
      ],
      [
        'an activity on a foreign customer',
        'POST',
        () => `/customers/${foreign.customer}/activities`,
        () => ({ type: 'note', body: 'x' }),
      ],
    ];

    it.each(writes)('should refuse %s and change nothing', async (_what, method, url, body, statuses = [404]) => {
      const watched = [
        {
          label: 'customers of A',
          sql: 'SELECT count(*)::int AS v FROM customers WHERE organization_id = $1',
          params: [orgA.id],
        },
        {
          label: 'posts of A',
          sql: 'SELECT count(*)::int AS v FROM posts WHERE organization_id = $1',
          params: [orgA.id],
        },
        {
          label: 'users of A',
          sql: 'SELECT count(*)::int AS v FROM users WHERE organization_id = $1',
          params: [orgA.id],
        },
        {
          label: 'departments of A',
          sql: 'SELECT count(*)::int AS v FROM departments WHERE organization_id = $1',
          params: [orgA.id],
        },
        {
          label: 'assignments of A',
          sql: 'SELECT count(*)::int AS v FROM role_assignments WHERE organization_id = $1',
          params: [orgA.id],
        },
        {
          label: 'uploads of A',
          sql: 'SELECT count(*)::int AS v FROM media_uploads WHERE organization_id = $1',
          params: [orgA.id],
        },
        { label: 'activities', sql: 'SELECT count(*)::int AS v FROM customer_activities', params: [] },
        {
          label: 'own customer',
          sql: 'SELECT to_jsonb(c) AS v FROM customers c WHERE id = $1',
          params: [own.customer],
        },
        { label: 'own member', sql: 'SELECT to_jsonb(u) AS v FROM users u WHERE id = $1', params: [own.member] },
        {
          label: 'own department',
          sql: 'SELECT to_jsonb(d) AS v FROM departments d WHERE id = $1',
          params: [own.department],
        },
      ];
      const before = await snapshot(db, watched);
      const res = await send(app, method, `/api/v1${url()}`, orgA.owner.accessToken, { json: body() });
      expectProblemOf(res, statuses, `${method} ${url()}`);
      expect(await snapshot(db, watched)).toEqual(before);
    });

    it('should refuse imports and uploads into a foreign department (query parameter) with 404', async () => {
      const csv = { raw: { payload: 'name\r\nx\r\n', contentType: 'text/csv' } };
      expectProblemOf(
        await send(
          app,
          'POST',
          `/api/v1/customers/import?departmentId=${foreign.department}`,
          orgA.owner.accessToken,
          csv,
        ),
        404,
        'import into a foreign department',
      );
      const raw = multipartFile(Buffer.from('%PDF-1.4\n%%EOF\n'), 'a.pdf', 'application/pdf');
      expectProblemOf(
        await send(app, 'POST', `/api/v1/media?departmentId=${foreign.department}`, orgA.owner.accessToken, { raw }),
        404,
        'upload into a foreign department',
      );
      expectProblemOf(
        await send(
          app,
          'DELETE',
          `/api/v1/departments/${own.department}?moveTo=${foreign.department}`,
          orgA.owner.accessToken,
        ),
        404,
        'delete moving contents to a foreign department',
      );
    });

    const filters: [string, () => string][] = [
      ['customers by a foreign department', () => `/customers?departmentId=${foreign.department}`],
      ['customers by a foreign owner', () => `/customers?ownerId=${foreign.user}`],
      ['customer export by a foreign department', () => `/customers/export?departmentId=${foreign.department}`],
      ['posts by a foreign department', () => `/posts?departmentId=${foreign.department}`],
      ['posts by a foreign author', () => `/posts?authorId=${orgB.owner.userId}`],
      ['users by a foreign department', () => `/users?departmentId=${foreign.department}`],
      ['users by a foreign role', () => `/users?roleId=${foreign.role}`],
      ['departments under a foreign parent', () => `/departments?parentId=${foreign.department}`],
      ['media by a foreign department', () => `/media?departmentId=${foreign.department}`],
      ['audit entries by a foreign actor', () => `/audit-logs?actorId=${orgB.owner.userId}`],
      ['audit entries about a foreign object', () => `/audit-logs?resourceId=${foreign.department}`],
      ['audit export by a foreign actor', () => `/audit-logs/export?actorId=${orgB.owner.userId}&format=ndjson`],
      ['a decision about a foreign user', () => `/rbac/check?userId=${orgB.owner.userId}&permission=customers:read`],
      [
        'a decision in a foreign department',
        () => `/rbac/check?userId=${orgA.owner.userId}&permission=customers:read&departmentId=${foreign.department}`,
      ],
    ];

    it.each(filters)('should show nothing of B when filtering %s', async (_what, url) => {
      const res = await send(app, 'GET', `/api/v1${url()}`, orgA.owner.accessToken);
      expect(res.statusCode).toBeLessThan(500);
      if (res.statusCode === 200) {
        const text = res.body;
        const ids = [
          foreign.department,
          foreign.user,
          foreign.role,
          foreign.customer,
          foreign.media,
          orgB.id,
          orgB.owner.userId,
        ];
        const leaked = ids.filter((id) => text.includes(id) && !url().includes(id));
        expect(leaked).toEqual([]);
        if (res.headers['content-type']?.startsWith('application/json'))
          expect(res.json<{ data?: unknown[] }>().data ?? []).toEqual([]);
      } else {
        expectProblemOf(res, 404, url());
      }
    });
  });
});
