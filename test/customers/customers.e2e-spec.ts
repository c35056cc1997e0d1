import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import type { CustomerStatus } from '../../src/modules/customers/customer.entity';
import { CUSTOMER_STATUSES } from '../../src/modules/customers/customer.entity';
import { auditEntries } from '../helpers/audit';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { insertCustomers, type CustomerFixture, type InsertedCustomer } from '../factories/customer.factory';

interface CustomerBody {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
  status: CustomerStatus;
  tags: string[];
  ownerId: string | null;
  departmentId: string | null;
  customFields: Record<string, unknown>;
  version: number;
  createdAt: string;
  updatedAt: string;
}

interface PageBody {
  data: CustomerBody[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';
type DeptName = 'root' | 'middle' | 'leaf' | 'sibling';
const PARENT: Record<DeptName, DeptName | null> = { root: null, middle: 'root', leaf: 'middle', sibling: null };

const ids = (rows: { id: string }[]) => rows.map((row) => row.id);
const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

describe('Customers', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let owner: TestAccount;
  let stranger: TestAccount;
  const dept = {} as Record<DeptName, string>;

  beforeAll(async () => {
    const env: RawEnv = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}customers:` };
    app = await createTestApp(env);
    db = app.get(DataSource);
    owner = await registerOwner(app, 'customers');
    stranger = await registerOwner(app, 'customers-stranger');
    for (const name of ['root', 'middle', 'leaf', 'sibling'] as DeptName[]) {
      const parent = PARENT[name];
      dept[name] = (await insertDepartment(app, owner.organizationId, { name, parentId: parent && dept[parent] })).id;
    }
  });

  afterAll(async () => {
    await app?.close();
  });

  const api = (method: Method, url: string, token: string, payload?: object, headers = {}) =>
    app.inject({ method, url: `/api/v1${url}`, payload, headers: { ...bearer(token), ...headers } });

  /** A member of the owner's organization holding `permissions` at `scope` (org-wide for null), logged in. */
  async function memberWith(permissions: string[], scope: DeptName | null) {
    const roleId = await insertRole(app, owner.organizationId, permissions);
    const user = await insertMember(app, owner.organizationId, {
      departmentId: scope ? dept[scope] : null,
      assignments: [{ roleId, departmentId: scope ? dept[scope] : null }],
    });
    return { ...user, token: await loginAs(app, user.email) };
  }

  /** Every row of a list, following nextCursor; `between` runs after each page (concurrent writers). */
  async function walk(token: string, query: string, limit = 3, between?: () => Promise<unknown>) {
    const rows: CustomerBody[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 200; pages++) {
      const url = `/customers?${query}&limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const res = await api('GET', url, token);
      expect(res.statusCode).toBe(200);
      const body = res.json<PageBody>();
      expect(body.data.length).toBeLessThanOrEqual(limit);
      expect(body.page.hasMore).toBe(body.page.nextCursor !== null);
      rows.push(...body.data);
      if (!body.page.hasMore) return rows;
      cursor = body.page.nextCursor;
      await between?.();
    }
    throw new Error('too many pages');
  }

  describe('CRUD', () => {
    it('should create, read, update with If-Match, soft-delete and restore a customer', async () => {
      const created = await api('POST', '/customers', owner.accessToken, {
        name: '  Ada Lovelace ',
        email: 'ADA@Analytical.example',
        phone: '+44 20 7946 0018',
        company: 'Analytical Engines',
        tags: ['vip', ' vip', 'math'],
        departmentId: dept.middle,
        ownerId: owner.userId,
        customFields: { source: 'fair' },
      });
      expect(created.statusCode).toBe(201);
      const body = created.json<CustomerBody>();
      expect(body).toMatchObject({
        name: 'Ada Lovelace',
        email: 'ada@analytical.example',
        status: 'lead',
        tags: ['vip', 'math'],
        departmentId: dept.middle,
        ownerId: owner.userId,
        customFields: { source: 'fair' },
        version: 1,
      });
      expect(created.headers.etag).toBe('"1"');

      const read = await api('GET', `/customers/${body.id}`, owner.accessToken);
      expect(read.statusCode).toBe(200);
      expect(read.json<CustomerBody>()).toEqual(body);
      expect(read.headers.etag).toBe('"1"');

      const updated = await api(
        'PATCH',
        `/customers/${body.id}`,
        owner.accessToken,
        { status: 'prospect', company: '' },
        { 'if-match': '"1"' },
      );
      expect(updated.statusCode).toBe(200);
      expect(updated.json<CustomerBody>()).toMatchObject({ status: 'prospect', company: null, version: 2 });
      expect(updated.headers.etag).toBe('"2"');

      // Stale and foreign ETags are both 412, and change nothing.
      for (const ifMatch of ['"1"', 'W/"7"', 'garbage']) {
        expectProblem(
          await api('PATCH', `/customers/${body.id}`, owner.accessToken, { name: 'Stale' }, { 'if-match': ifMatch }),
          412,
          'version-mismatch',
        );
      }
      // Without If-Match the change applies to the current version.
      const blind = await api('PATCH', `/customers/${body.id}`, owner.accessToken, { name: 'Ada King' });
      expect(blind.json<CustomerBody>()).toMatchObject({ name: 'Ada King', status: 'prospect', version: 3 });
      // A change to nothing is no change.
      const same = await api('PATCH', `/customers/${body.id}`, owner.accessToken, { name: 'Ada King' });
      expect(same.json<CustomerBody>().version).toBe(3);

      expect((await api('DELETE', `/customers/${body.id}`, owner.accessToken)).statusCode).toBe(204);
      expectProblem(await api('GET', `/customers/${body.id}`, owner.accessToken), 404, 'not-found');
      expectProblem(await api('PATCH', `/customers/${body.id}`, owner.accessToken, { name: 'X' }), 404, 'not-found');
      expectProblem(await api('DELETE', `/customers/${body.id}`, owner.accessToken), 404, 'not-found');
      const listed = await walk(owner.accessToken, 'q=lovelace', 20);
      expect(ids(listed)).not.toContain(body.id);

      const restored = await api('POST', `/customers/${body.id}/restore`, owner.accessToken);
      expect(restored.statusCode).toBe(200);
      expect(restored.json<CustomerBody>()).toMatchObject({ id: body.id, name: 'Ada King', version: 5 });
      expect((await api('GET', `/customers/${body.id}`, owner.accessToken)).statusCode).toBe(200);
    });

    it('should name every invalid field (400)', async () => {
      const res = await api('POST', '/customers', owner.accessToken, {
        name: '',
        email: 'not-an-email',
        status: 'vip',
        tags: ['a,b'],
        customFields: 'text',
        departmentId: 'x',
      });
      const problem = expectProblem(res, 400, 'validation-failed');
      const fields = (problem.errors as { field: string }[]).map((error) => error.field);
      expect(fields).toEqual(
        expect.arrayContaining(['name', 'email', 'status', 'tags', 'customFields', 'departmentId']),
      );
      const nulls = expectProblem(
        await api('PATCH', `/customers/${randomUUID()}`, owner.accessToken, { name: null, status: null }),
        400,
        'validation-failed',
      );
      expect(new Set((nulls.errors as { field: string }[]).map((error) => error.field))).toEqual(
        new Set(['name', 'status']),
      );
      expectProblem(
        await api('POST', '/customers', owner.accessToken, { name: 'X', unknown: 1 }),
        400,
        'validation-failed',
      );
      expectProblem(await api('GET', '/customers/not-a-uuid', owner.accessToken), 400, 'validation-failed');
      const noDept = expectProblem(
        await api('POST', '/customers', owner.accessToken, { name: 'X', departmentId: randomUUID() }),
        404,
        'not-found',
      );
      expect(noDept.field).toBe('departmentId');
      const noOwner = expectProblem(
        await api('POST', '/customers', owner.accessToken, { name: 'X', ownerId: stranger.userId }),
        404,
        'not-found',
      );
      expect(noOwner.field).toBe('ownerId');
    });

    it('should keep emails unique among live customers only, naming the field (409)', async () => {
      const email = `unique-${randomUUID().slice(0, 8)}@atrium.test`;
      const first = (await api('POST', '/customers', owner.accessToken, { name: 'First', email })).json<CustomerBody>();
      const taken = expectProblem(
        await api('POST', '/customers', owner.accessToken, { name: 'Second', email: email.toUpperCase() }),
        409,
        'customer-email-taken',
      );
      expect(taken.field).toBe('email');
      const other = (await api('POST', '/customers', owner.accessToken, { name: 'Other' })).json<CustomerBody>();
      expect(
        expectProblem(
          await api('PATCH', `/customers/${other.id}`, owner.accessToken, { email }),
          409,
          'customer-email-taken',
        ).field,
      ).toBe('email');
      // Another organization may use the same email.
      expect((await api('POST', '/customers', stranger.accessToken, { name: 'Theirs', email })).statusCode).toBe(201);

      expect((await api('DELETE', `/customers/${first.id}`, owner.accessToken)).statusCode).toBe(204);
      const second = await api('POST', '/customers', owner.accessToken, { name: 'Second', email });
      expect(second.statusCode).toBe(201);
      const restore = expectProblem(
        await api('POST', `/customers/${first.id}/restore`, owner.accessToken),
        409,
        'customer-email-taken',
      );
      expect(restore.field).toBe('email');
      // Once the email is free again, the restore goes through.
      await api('PATCH', `/customers/${second.json<CustomerBody>().id}`, owner.accessToken, { email: null });
      expect((await api('POST', `/customers/${first.id}/restore`, owner.accessToken)).statusCode).toBe(200);
    });

    it('should answer 404 for another organization’s customer on every route', async () => {
      const theirs = (await api('POST', '/customers', stranger.accessToken, { name: 'Foreign' })).json<CustomerBody>();
      expectProblem(await api('GET', `/customers/${theirs.id}`, owner.accessToken), 404, 'not-found');
      expectProblem(await api('PATCH', `/customers/${theirs.id}`, owner.accessToken, { name: 'X' }), 404, 'not-found');
      expectProblem(await api('DELETE', `/customers/${theirs.id}`, owner.accessToken), 404, 'not-found');
      expectProblem(await api('POST', `/customers/${theirs.id}/restore`, owner.accessToken), 404, 'not-found');
      expect(ids(await walk(owner.accessToken, 'q=foreign', 50))).not.toContain(theirs.id);
      expect((await api('GET', `/customers/${theirs.id}`, stranger.accessToken)).json<CustomerBody>().name).toBe(
        'Foreign',
      );
    });

    it('should audit create, update, delete and restore with before/after, in the change transaction', async () => {
      const created = (
        await api('POST', '/customers', owner.accessToken, { name: 'Audited', status: 'lead' })
      ).json<CustomerBody>();
      await api('PATCH', `/customers/${created.id}`, owner.accessToken, { name: 'Audited 2', status: 'active' });
      await api('DELETE', `/customers/${created.id}`, owner.accessToken);
      await api('POST', `/customers/${created.id}/restore`, owner.accessToken);
      const entries = (await auditEntries(app, owner.organizationId)).filter((e) => e.resourceId === created.id);
      expect(entries.map((entry) => entry.action)).toEqual([
        'customers.create',
        'customers.update',
        'customers.delete',
        'customers.restore',
      ]);
      expect(entries.every((entry) => entry.actorId === owner.userId && entry.resourceType === 'customers')).toBe(true);
      expect(entries[0]?.changes?.after).toMatchObject({ name: 'Audited', status: 'lead' });
      expect(entries[1]?.changes).toEqual({
        before: { name: 'Audited', status: 'lead' },
        after: { name: 'Audited 2', status: 'active' },
      });
      expect(entries[2]?.changes?.before).toEqual({ deletedAt: null });
      expect(entries[3]?.changes?.after).toEqual({ deletedAt: null });
      // A refused change leaves no entry.
      const before = (await auditEntries(app, owner.organizationId)).length;
      await api('PATCH', `/customers/${created.id}`, owner.accessToken, { name: 'X' }, { 'if-match': '"1"' });
      expect((await auditEntries(app, owner.organizationId)).length).toBe(before);
    });
  });

  describe('department scoping', () => {
    const placed = {} as Record<DeptName | 'org', string>;

    beforeAll(async () => {
      for (const where of ['root', 'middle', 'leaf', 'sibling', 'org'] as const) {
        const [row] = await insertCustomers(app, owner.organizationId, [
          { name: `Scoped ${where}`, departmentId: where === 'org' ? null : dept[where] },
        ]);
        placed[where] = row.id;
      }
    });

    it('should show an organization-wide reader everything, organization-level customers included', async () => {
      const viewer = await memberWith(['customers:read'], null);
      expect(ids(await walk(viewer.token, 'q=scoped', 50)).sort()).toEqual(Object.values(placed).sort());
      expect((await api('GET', `/customers/${placed.org}`, viewer.token)).statusCode).toBe(200);
      expectProblem(
        await api('PATCH', `/customers/${placed.org}`, viewer.token, { name: 'X' }),
        403,
        'permission-denied',
      );
    });

    it('should confine customers:* on a middle department to its subtree (404 outside)', async () => {
      const manager = await memberWith(['customers:*'], 'middle');
      const visible = [placed.middle, placed.leaf].sort();
      expect(ids(await walk(manager.token, 'q=scoped', 50)).sort()).toEqual(visible);
      // A filter on a wider department does not widen the scope; every row of a full walk is inside it.
      expect(ids(await walk(manager.token, `q=scoped&departmentId=${dept.root}`, 50)).sort()).toEqual(visible);
      const everything = await walk(manager.token, 'sort=name', 100);
      expect(everything.every((c) => c.departmentId === dept.middle || c.departmentId === dept.leaf)).toBe(true);

      expect((await api('GET', `/customers/${placed.leaf}`, manager.token)).statusCode).toBe(200);
      for (const outside of [placed.root, placed.sibling, placed.org]) {
        expectProblem(await api('GET', `/customers/${outside}`, manager.token), 404, 'not-found');
        expectProblem(await api('PATCH', `/customers/${outside}`, manager.token, { name: 'X' }), 404, 'not-found');
        expectProblem(await api('DELETE', `/customers/${outside}`, manager.token), 404, 'not-found');
      }
      const inLeaf = await api('POST', '/customers', manager.token, { name: 'Made in leaf', departmentId: dept.leaf });
      expect(inLeaf.statusCode).toBe(201);
      expectProblem(
        await api('POST', '/customers', manager.token, { name: 'X', departmentId: dept.sibling }),
        403,
        'permission-denied',
      );
      expectProblem(await api('POST', '/customers', manager.token, { name: 'X' }), 403, 'permission-denied');
      // Moving out of the subtree needs the permission at the destination too.
      expectProblem(
        await api('PATCH', `/customers/${placed.leaf}`, manager.token, { departmentId: dept.root }),
        403,
        'permission-denied',
      );
      const moved = await api('PATCH', `/customers/${placed.leaf}`, manager.token, { departmentId: dept.middle });
      expect(moved.json<CustomerBody>().departmentId).toBe(dept.middle);
      await api('PATCH', `/customers/${placed.leaf}`, owner.accessToken, { departmentId: dept.leaf });
    });

    it('should answer 403 inside the read scope when the action is not granted', async () => {
      const reader = await memberWith(['customers:read'], 'middle');
      expectProblem(
        await api('PATCH', `/customers/${placed.leaf}`, reader.token, { name: 'X' }),
        403,
        'permission-denied',
      );
      expectProblem(await api('DELETE', `/customers/${placed.leaf}`, reader.token), 403, 'permission-denied');
      expectProblem(await api('POST', `/customers/${placed.leaf}/restore`, reader.token), 403, 'permission-denied');
      // Holding customers:update nowhere, the route guard refuses before any customer is looked up.
      expectProblem(
        await api('PATCH', `/customers/${randomUUID()}`, reader.token, { name: 'X' }),
        403,
        'permission-denied',
      );
      const nobody = await memberWith(['posts:read'], null);
      expectProblem(await api('GET', '/customers', nobody.token), 403, 'permission-denied');
    });

    it('should refuse to delete a department holding customers unless moveTo, then move them', async () => {
      const doomed = await insertDepartment(app, owner.organizationId, { name: 'Doomed' });
      const [live, gone] = await insertCustomers(app, owner.organizationId, [
        { name: 'In doomed', departmentId: doomed.id },
        { name: 'Deleted in doomed', departmentId: doomed.id, deletedAt: new Date() },
      ]);
      const refused = expectProblem(
        await api('DELETE', `/departments/${doomed.id}`, owner.accessToken),
        409,
        'department-not-empty',
      );
      expect(refused.contents).toMatchObject({ customers: 1 });
      const res = await api('DELETE', `/departments/${doomed.id}?moveTo=${dept.sibling}`, owner.accessToken);
      expect(res.statusCode).toBe(204);
      const rows = await db.query<{ id: string; department_id: string }[]>(
        'SELECT id, department_id FROM customers WHERE id = ANY($1)',
        [[live?.id, gone?.id]],
      );
      expect(rows.map((row) => row.department_id)).toEqual([dept.sibling, dept.sibling]);

      // Only deleted customers left: the delete goes through and they land at the parent's level.
      const empty = await insertDepartment(app, owner.organizationId, { name: 'Emptyish', parentId: dept.root });
      const [trash] = await insertCustomers(app, owner.organizationId, [
        { name: 'Trash', departmentId: empty.id, deletedAt: new Date() },
      ]);
      expect((await api('DELETE', `/departments/${empty.id}`, owner.accessToken)).statusCode).toBe(204);
      const [row] = await db.query<{ department_id: string }[]>('SELECT department_id FROM customers WHERE id = $1', [
        trash?.id,
      ]);
      expect(row?.department_id).toBe(dept.root);
    });
  });

  describe('GET /customers filters and sorts', () => {
    let pager: TestAccount;
    let rows: InsertedCustomer[];
    const pagerDept = {} as Record<'top' | 'sub' | 'other', string>;
    const owners: string[] = [];
    const base = Date.UTC(2025, 0, 1);

    beforeAll(async () => {
      pager = await registerOwner(app, 'customers-pager');
      pagerDept.top = (await insertDepartment(app, pager.organizationId, { name: 'top' })).id;
      pagerDept.sub = (await insertDepartment(app, pager.organizationId, { name: 'sub', parentId: pagerDept.top })).id;
      pagerDept.other = (await insertDepartment(app, pager.organizationId, { name: 'other' })).id;
      owners.push(
        (await insertMember(app, pager.organizationId)).id,
        (await insertMember(app, pager.organizationId)).id,
      );
      const departments = [pagerDept.top, pagerDept.sub, pagerDept.other, null, pagerDept.sub];
      const fixtures: CustomerFixture[] = Array.from({ length: 26 }, (_, i) => ({
        // Letters only, so PostgreSQL's collation and JS agree; some names repeat (ties break by id).
        name: `cust${String.fromCharCode(97 + ((i * 7) % 13))}`,
        status: CUSTOMER_STATUSES[i % 4],
        ownerId: i % 3 === 2 ? null : owners[i % 3],
        departmentId: departments[(i * 3) % 5],
        tags: [...(i % 2 ? ['a'] : []), ...(i % 3 === 0 ? ['b'] : []), ...(i % 5 === 0 ? ['c'] : [])],
        // Pairs share a creation time (ties break by id).
        createdAt: new Date(base + Math.floor(i / 2) * 1000),
        updatedAt: new Date(base + 86_400_000 + ((i * 5) % 26) * 60_000),
      }));
      rows = await insertCustomers(app, pager.organizationId, fixtures);
      await insertCustomers(app, pager.organizationId, [{ name: 'custa', deletedAt: new Date() }]);
    });

    type Row = InsertedCustomer;
    const key: Record<string, (row: Row) => number | string> = {
      createdAt: (row) => row.createdAt.getTime(),
      updatedAt: (row) => row.updatedAt.getTime(),
      name: (row) => row.name,
    };
    const ordered = (list: Row[], sort: string) => {
      const field = sort.replace(/^-/, '');
      const sign = sort.startsWith('-') ? -1 : 1;
      const value = key[field];
      if (!value) throw new Error(`no sort ${field}`);
      return [...list].sort((a, b) => {
        const [x, y] = [value(a), value(b)];
        return sign * (x < y ? -1 : x > y ? 1 : byId(a, b));
      });
    };

    it.each(['createdAt', '-createdAt', 'updatedAt', '-updatedAt', 'name', '-name'])(
      'should walk every page sorted by %s without missing or repeating a row',
      async (sort) => {
        expect(ids(await walk(pager.accessToken, `sort=${sort}`, 4))).toEqual(ids(ordered(rows, sort)));
      },
    );

    it('should default to newest first', async () => {
      expect(ids(await walk(pager.accessToken, '', 5))).toEqual(ids(ordered(rows, '-createdAt')));
    });

    const filters: [string, () => string, (row: Row) => boolean][] = [
      ['one status', () => 'status=lead', (row) => row.status === 'lead'],
      ['statuses, comma', () => 'status=lead,active', (row) => ['lead', 'active'].includes(row.status)],
      ['statuses, repeated', () => 'status=lead&status=churned', (row) => ['lead', 'churned'].includes(row.status)],
      ['owner', () => `ownerId=${owners[0]}`, (row) => row.ownerId === owners[0]],
      [
        'department subtree',
        () => `departmentId=${pagerDept.top}`,
        (row) => row.departmentId === pagerDept.top || row.departmentId === pagerDept.sub,
      ],
      ['leaf department', () => `departmentId=${pagerDept.sub}`, (row) => row.departmentId === pagerDept.sub],
      ['unknown department', () => `departmentId=${randomUUID()}`, () => false],
      ['one tag', () => 'tag=a', (row) => row.tags.includes('a')],
      ['any tag', () => 'tag=a&tag=b', (row) => row.tags.includes('a') || row.tags.includes('b')],
      ['all tags', () => 'tag=a&tag=b&tagMode=all', (row) => row.tags.includes('a') && row.tags.includes('b')],
      ['all tags, comma', () => 'tag=a,c&tagMode=all', (row) => row.tags.includes('a') && row.tags.includes('c')],
      [
        'created range',
        () => `createdFrom=${new Date(base + 3000).toISOString()}&createdTo=${new Date(base + 9000).toISOString()}`,
        (row) => row.createdAt.getTime() >= base + 3000 && row.createdAt.getTime() < base + 9000,
      ],
      [
        'combined, sorted by name',
        () => 'status=lead,prospect&tag=a&sort=-name',
        (row) => ['lead', 'prospect'].includes(row.status) && row.tags.includes('a'),
      ],
    ];

    it.each(filters)('should filter by %s across every page', async (_, query, predicate) => {
      const q = query();
      const sort = /sort=([^&]+)/.exec(q)?.[1] ?? '-createdAt';
      const expected = ids(ordered(rows.filter(predicate), sort));
      expect(ids(await walk(pager.accessToken, q, 3))).toEqual(expected);
    });

    it('should refuse unknown sorts, foreign or tampered cursors and invalid filters (400)', async () => {
      const first = (await api('GET', '/customers?limit=2', pager.accessToken)).json<PageBody>();
      const cursor = first.page.nextCursor ?? '';
      for (const query of [
        'sort=email',
        `sort=name&cursor=${cursor}`,
        `cursor=${cursor.slice(0, -2)}xx`,
        'status=deleted',
        'tagMode=some',
        'createdFrom=yesterday',
        `createdFrom=${new Date(base + 5000).toISOString()}&createdTo=${new Date(base).toISOString()}`,
        'limit=1000',
        'ownerId=me',
      ]) {
        expectProblem(await api('GET', `/customers?${query}`, pager.accessToken), 400, 'validation-failed');
      }
    });
  });

  describe('pagination under concurrent inserts', () => {
    it.each(['createdAt', '-createdAt', 'name', '-updatedAt'])(
      'should neither miss nor repeat an existing row sorted by %s while rows are inserted',
      async (sort) => {
        const busy = await registerOwner(app, 'customers-busy');
        const existing = await insertCustomers(
          app,
          busy.organizationId,
          Array.from({ length: 30 }, (_, i) => ({
            name: `busy${String.fromCharCode(97 + (i % 26))}`,
            createdAt: new Date(Date.now() - 60_000 + i * 100),
          })),
        );
        let inserting = true;
        const writer = (async () => {
          // Rows land before and after the walk's position, in sort order and by time.
          for (let i = 0; inserting && i < 200; i++) {
            await insertCustomers(app, busy.organizationId, [
              {
                name: `busy${String.fromCharCode(97 + ((i * 11) % 26))}`,
                createdAt: new Date(Date.now() - (i % 2) * 30_000),
              },
            ]);
          }
        })();
        const seen = await walk(busy.accessToken, `sort=${sort}`, 4, () => new Promise((r) => setImmediate(r)));
        inserting = false;
        await writer;
        const seenIds = ids(seen);
        expect(new Set(seenIds).size).toBe(seenIds.length);
        expect(seenIds).toEqual(expect.arrayContaining(ids(existing)));
      },
    );
  });

  describe('search (q)', () => {
    let searcher: TestAccount;
    const named = {} as Record<string, string>;

    beforeAll(async () => {
      searcher = await registerOwner(app, 'customers-search');
      const people: CustomerFixture[] = [
        { name: 'Ada Lovelace Institute', company: 'Lovelace Labs' },
        { name: 'Ada Lovelace', email: 'ada@engines.example' },
        { name: 'Adam Lovelock' },
        { name: 'Charles Babbage', company: 'Difference Engines Ltd', phone: '+44 20 7946 0999' },
        { name: 'Grace Hopper', email: 'grace@navy.example' },
        ...Array.from({ length: 8 }, (_, i) => ({ name: `Lovelace Fan ${i}` })),
      ];
      for (const row of await insertCustomers(app, searcher.organizationId, people)) named[row.name] = row.id;
    });

    const search = (q: string, extra = '') => walk(searcher.accessToken, `q=${encodeURIComponent(q)}${extra}`, 2);

    it('should rank an exact name match first', async () => {
      const found = await search('ada lovelace');
      expect(found[0]?.id).toBe(named['Ada Lovelace']);
      expect(ids(found)).toEqual(expect.arrayContaining([named['Ada Lovelace Institute']]));
      expect(ids(found)).not.toContain(named['Grace Hopper']);
    });

    it('should find typos, and match email, company and phone', async () => {
      expect(ids(await search('lovelase'))).toContain(named['Ada Lovelace']);
      expect(ids(await search('Babage'))).toEqual([named['Charles Babbage']]);
      expect(ids(await search('navy'))).toEqual([named['Grace Hopper']]);
      expect(ids(await search('difference engines'))).toEqual([named['Charles Babbage']]);
      expect(ids(await search('7946 0999'))).toEqual([named['Charles Babbage']]);
      expect(await search('zzqx')).toEqual([]);
    });

    it('should page through a ranked search without repeats, best first, and combine with filters', async () => {
      const pages = await search('lovelace');
      expect(new Set(ids(pages)).size).toBe(pages.length);
      expect(pages.length).toBeGreaterThanOrEqual(10);
      const all = (await api('GET', '/customers?q=lovelace&limit=100', searcher.accessToken)).json<PageBody>();
      expect(ids(pages)).toEqual(ids(all.data));
      await db.query("UPDATE customers SET status = 'active' WHERE id = $1", [named['Ada Lovelace']]);
      expect(ids(await search('lovelace', '&status=active'))).toEqual([named['Ada Lovelace']]);
    });

    it('should refuse a sort with q and a cursor of another q (400)', async () => {
      expectProblem(await api('GET', '/customers?q=ada&sort=name', searcher.accessToken), 400, 'validation-failed');
      const first = (await api('GET', '/customers?q=lovelace&limit=1', searcher.accessToken)).json<PageBody>();
      const cursor = encodeURIComponent(first.page.nextCursor ?? '');
      expectProblem(
        await api('GET', `/customers?q=babbage&limit=1&cursor=${cursor}`, searcher.accessToken),
        400,
        'validation-failed',
      );
      expectProblem(
        await api('GET', `/customers?limit=1&cursor=${cursor}`, searcher.accessToken),
        400,
        'validation-failed',
      );
    });
  });
});
