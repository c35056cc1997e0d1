import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource, type EntitySubscriberInterface } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import type { PageRequest } from '../../src/core/pagination/keyset';
import {
  CUSTOMER_LIST,
  CustomersRepository,
  customerConditions,
  type CustomerFilters,
} from '../../src/modules/customers/customers.repository';
import type { CustomerStatus } from '../../src/modules/customers/customer.entity';
import { PermissionService, type ReadableDepartments } from '../../src/modules/rbac/decision/permission.service';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { insertCustomers, type InsertedCustomer } from '../factories/customer.factory';

interface PageBody {
  data: { id: string }[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * CustomersRepository.list compiles its SQL once per shape and binds each request's values to it: these
 * specs fail if a compiled query is reused for a request of another shape, or binds the wrong values.
 */
describe('CustomersRepository.list compiled shapes', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let repository: CustomersRepository;
  let permissions: PermissionService;
  const sent: { query: string; parameters: unknown }[] = [];

  beforeAll(async () => {
    const env: RawEnv = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}customer-shapes:` };
    app = await createTestApp(env);
    db = app.get(DataSource);
    repository = app.get(CustomersRepository);
    permissions = app.get(PermissionService);
    const recorder: EntitySubscriberInterface = {
      // Only the list's statements: the app's background work (audit partitions, …) queries meanwhile.
      beforeQuery: (event) => {
        if (event.query.includes('FROM "customers" "c"'))
          sent.push({ query: event.query, parameters: event.parameters });
      },
    };
    db.subscribers.push(recorder);
  });

  afterAll(async () => {
    await app?.close();
  });

  describe('SQL', () => {
    const sorts = CUSTOMER_LIST.sorts;
    const page = (i: number, after: boolean, limit: number): PageRequest => {
      const sort = sorts[i % sorts.length];
      const value = sort.type === 'date' ? new Date(Date.UTC(2026, 0, 1 + i)) : `name-${i}`;
      return {
        scope: CUSTOMER_LIST.scope,
        sort,
        direction: i % 2 ? 'asc' : 'desc',
        after: after ? { value, id: randomUUID() } : undefined,
        limit,
        idColumn: CUSTOMER_LIST.idColumn,
      };
    };
    const scopes = (i: number): ReadableDepartments[] => [
      { all: true, paths: [] },
      { all: false, paths: [] },
      { all: false, paths: [`/${randomUUID()}/`] },
      { all: false, paths: [`/${randomUUID()}/`, `/${randomUUID()}/${randomUUID()}/`].slice(0, 1 + (i % 2)) },
    ];
    const statuses: CustomerStatus[] = ['lead', 'prospect', 'active', 'churned'];
    const filterSets = (i: number): CustomerFilters[] => [
      {},
      { statuses: statuses.slice(i % 4, (i % 4) + 1) },
      { statuses: i % 2 ? ['lead', 'churned'] : ['active', 'prospect'] },
      { statuses: [...statuses] },
      { ownerId: randomUUID() },
      { departmentPath: null },
      { departmentPath: `/${randomUUID()}/_%\\` },
      { tags: [`t${i}`], tagMode: 'any' },
      { tags: [`t${i}`, 'x'], tagMode: 'all' },
      { createdFrom: new Date(Date.UTC(2025, i % 12, 1)) },
      { createdTo: new Date(Date.UTC(2026, i % 12, 1)) },
      {
        statuses: ['lead'],
        ownerId: randomUUID(),
        departmentPath: `/${randomUUID()}/`,
        tags: ['a', `b${i}`],
        tagMode: i % 2 ? 'all' : 'any',
        createdFrom: new Date(Date.UTC(2025, 0, 1 + i)),
        createdTo: new Date(Date.UTC(2026, 0, 1 + i)),
      },
    ];

    it('should send exactly the SQL and parameters of the query builder, for every shape, each bound to its own values', async () => {
      // Rounds 0 and 1 see each shape with other values (the second binds a query compiled for the first);
      // within a round, neighbouring requests differ in one part of the shape.
      let checked = 0;
      for (let round = 0; round < 2; round++) {
        for (let s = 0; s < 4; s++) {
          for (let f = 0; f < filterSets(0).length; f++) {
            for (const after of [false, true]) {
              const i = round * 7 + s + f;
              const organizationId = randomUUID();
              const scope = scopes(i)[s];
              const filters = filterSets(i)[f];
              const request = page(i + (after ? 1 : 0), after, [1, 20, 100][(i + f) % 3]);
              const expected = repository
                .listQuery(
                  customerConditions(organizationId, permissions.readableCondition(scope, 'c.department_id'), filters),
                  request,
                )
                .getQueryAndParameters();
              sent.length = 0;
              await repository.list(organizationId, scope, filters, request);
              expect(sent).toHaveLength(1);
              expect(sent[0].query).toBe(expected[0]);
              expect(sent[0].parameters).toEqual(expected[1]);
              checked++;
            }
          }
        }
      }
      expect(checked).toBe(2 * 4 * 12 * 2);
    });

    it('should bind values and never write them into the SQL', async () => {
      const marker = `zz'; SELECT 1 --${randomUUID()}`;
      sent.length = 0;
      await repository.list(
        randomUUID(),
        { all: false, paths: [marker] },
        { tags: [marker], departmentPath: marker },
        page(2, true, 20),
      );
      expect(sent).toHaveLength(1);
      expect(sent[0].query).not.toContain(marker);
      expect(JSON.stringify(sent[0].parameters)).toContain(marker.slice(0, 8));
    });
  });

  describe('GET /customers', () => {
    let owner: TestAccount;
    let memberToken: string;
    let rows: InsertedCustomer[];
    const dept = {} as Record<'a' | 'b', string>;

    beforeAll(async () => {
      owner = await registerOwner(app, 'customer-shapes');
      dept.a = (await insertDepartment(app, owner.organizationId, { name: 'a' })).id;
      dept.b = (await insertDepartment(app, owner.organizationId, { name: 'b' })).id;
      const roleId = await insertRole(app, owner.organizationId, ['customers:read']);
      const member = await insertMember(app, owner.organizationId, {
        departmentId: dept.a,
        assignments: [{ roleId, departmentId: dept.a }],
      });
      memberToken = await loginAs(app, member.email);
      const statuses: CustomerStatus[] = ['lead', 'prospect', 'active', 'churned'];
      rows = await insertCustomers(
        app,
        owner.organizationId,
        Array.from({ length: 16 }, (_, i) => ({
          name: `shape${String.fromCharCode(97 + ((i * 5) % 16))}`,
          status: statuses[i % 4],
          departmentId: [dept.a, dept.b, null][i % 3],
          tags: i % 2 ? ['odd'] : ['even'],
          createdAt: new Date(Date.UTC(2025, 0, 1, 0, 0, i)),
        })),
      );
    });

    const list = async (token: string, query: string) => {
      const res = await app.inject({ method: 'GET', url: `/api/v1/customers?${query}`, headers: bearer(token) });
      expect(res.statusCode).toBe(200);
      return res.json<PageBody>();
    };
    const newestFirst = (list: InsertedCustomer[]) =>
      [...list].sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || -byId(a, b)).map((row) => row.id);

    it('should refuse bad query values with the same problem after good requests were validated', async () => {
      const bad = [
        'limit=0',
        'limit=abc',
        'status=deleted',
        'tagMode=some',
        'ownerId=me',
        'unknown=1',
        'tag=' + 'x'.repeat(51),
      ];
      const problems = async () => {
        const bodies: unknown[] = [];
        for (const query of bad) {
          const res = await app.inject({
            method: 'GET',
            url: `/api/v1/customers?${query}`,
            headers: bearer(memberToken),
          });
          const body = expectProblem(res, 400, 'validation-failed');
          bodies.push(body.errors);
        }
        return bodies;
      };
      const before = await problems();
      for (let i = 0; i < 3; i++) await list(memberToken, 'limit=5&status=lead&tag=odd');
      expect(await problems()).toEqual(before);
      expect(before.map((errors) => (errors as { field: string }[]).map((error) => error.field))).toEqual([
        ['limit'],
        ['limit', 'limit', 'limit'],
        ['status'],
        ['tagMode'],
        ['ownerId'],
        ['unknown'],
        ['tag'],
      ]);
    });

    it('should answer each request with its own scope, filters and sort when shapes alternate', async () => {
      const inA = (row: InsertedCustomer) => row.departmentId === dept.a;
      // The same request shape by two callers of different scope, one after the other, twice over.
      for (let i = 0; i < 2; i++) {
        expect((await list(owner.accessToken, 'limit=100')).data.map((r) => r.id)).toEqual(newestFirst(rows));
        expect((await list(memberToken, 'limit=100')).data.map((r) => r.id)).toEqual(newestFirst(rows.filter(inA)));
      }
      // One status, then two, then one again with another value: three shapes, the list length in the SQL.
      for (const statuses of [['lead'], ['lead', 'active'], ['churned'], ['prospect', 'churned'], ['lead']]) {
        const body = await list(owner.accessToken, `limit=100&status=${statuses.join(',')}`);
        expect(body.data.map((r) => r.id)).toEqual(newestFirst(rows.filter((row) => statuses.includes(row.status))));
      }
      // any vs all with the same tags: a different operator, the same parameter.
      const any = await list(owner.accessToken, 'limit=100&tag=odd,even');
      expect(any.data).toHaveLength(rows.length);
      const all = await list(owner.accessToken, 'limit=100&tag=odd,even&tagMode=all');
      expect(all.data).toHaveLength(0);
      // Department filter vs none, for the same caller.
      const inB = await list(owner.accessToken, `limit=100&departmentId=${dept.b}`);
      expect(inB.data.map((r) => r.id)).toEqual(newestFirst(rows.filter((row) => row.departmentId === dept.b)));
      expect((await list(owner.accessToken, 'limit=100')).data).toHaveLength(rows.length);
      // Sort and direction change, the page size too.
      const byName = await list(owner.accessToken, 'limit=5&sort=name');
      const expectedByName = [...rows].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : byId(a, b)));
      expect(byName.data.map((r) => r.id)).toEqual(expectedByName.slice(0, 5).map((row) => row.id));
      const byNameDesc = await list(owner.accessToken, 'limit=3&sort=-name');
      expect(byNameDesc.data.map((r) => r.id)).toEqual(
        [...expectedByName]
          .reverse()
          .slice(0, 3)
          .map((row) => row.id),
      );
      // A cursor page and a first page of the same sort, alternately.
      const next = await list(owner.accessToken, `limit=5&sort=name&cursor=${byName.page.nextCursor ?? ''}`);
      expect(next.data.map((r) => r.id)).toEqual(expectedByName.slice(5, 10).map((row) => row.id));
      expect((await list(owner.accessToken, 'limit=5&sort=name')).data.map((r) => r.id)).toEqual(
        expectedByName.slice(0, 5).map((row) => row.id),
      );
    });
  });
});
