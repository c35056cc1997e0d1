import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { SystemRoleKey } from '../../src/modules/rbac/system-roles';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertMember, loginAs } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

interface Department {
  id: string;
  parentId: string | null;
  name: string;
  path: string;
  depth: number;
}

interface TreeNode {
  id: string;
  name: string;
  children: TreeNode[];
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

describe('Departments', () => {
  let app: NestFastifyApplication;
  let db: DataSource;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
  });

  afterAll(async () => {
    await app.close();
  });

  const call = (token: string, method: Method, url: string, payload?: object) =>
    app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload ? { payload } : {}) });

  async function create(token: string, name: string, parentId?: string): Promise<Department> {
    const res = await call(token, 'POST', '/departments', parentId ? { name, parentId } : { name });
    expect(res.statusCode).toBe(201);
    return res.json<Department>();
  }

  /** A member of the organization, created in SQL, holding one system role (if any) at a department; signed in. */
  async function member(
    organizationId: string,
    roleKey: SystemRoleKey | null,
    departmentId: string | null,
  ): Promise<{ id: string; token: string }> {
    const assignments = roleKey ? [{ roleKey, departmentId }] : [];
    const { id, email } = await insertMember(app, organizationId, { assignments });
    return { id, token: await loginAs(app, email) };
  }

  async function pathsOf(...ids: string[]): Promise<Record<string, { path: string; depth: number }>> {
    const rows = await db.query<{ id: string; path: string; depth: number; parent_id: string | null }[]>(
      'SELECT id, path, depth FROM departments WHERE id = ANY($1)',
      [ids],
    );
    return Object.fromEntries(rows.map((row) => [row.id, { path: row.path, depth: row.depth }]));
  }

  const names = (list: Department[]) => list.map((department) => department.name).sort();

  describe('a three-level tree', () => {
    let owner: TestAccount;
    let sales: Department;
    let emea: Department;
    let berlin: Department;
    let support: Department;

    beforeAll(async () => {
      owner = await registerOwner(app, 'tree');
      sales = await create(owner.accessToken, 'Sales');
      emea = await create(owner.accessToken, 'EMEA', sales.id);
      berlin = await create(owner.accessToken, 'Berlin', emea.id);
      support = await create(owner.accessToken, 'Support');
    });

    it('should build materialized paths and depths from the parent', () => {
      expect(sales).toMatchObject({ parentId: null, path: `/${sales.id}/`, depth: 0 });
      expect(emea).toMatchObject({ parentId: sales.id, path: `/${sales.id}/${emea.id}/`, depth: 1 });
      expect(berlin).toMatchObject({ parentId: emea.id, path: `/${sales.id}/${emea.id}/${berlin.id}/`, depth: 2 });
    });

    it('should list every department for an organization-wide reader, paginated', async () => {
      const res = await call(owner.accessToken, 'GET', '/departments');
      expect(res.statusCode).toBe(200);
      const body = res.json<{ data: Department[]; page: { hasMore: boolean } }>();
      expect(body.data.map((d) => d.name)).toEqual(['Berlin', 'EMEA', 'Sales', 'Support']);
      expect(body.page.hasMore).toBe(false);

      const first = (await call(owner.accessToken, 'GET', '/departments?limit=3&sort=path')).json<{
        data: Department[];
        page: { nextCursor: string };
      }>();
      const rest = (
        await call(owner.accessToken, 'GET', `/departments?limit=3&sort=path&cursor=${first.page.nextCursor}`)
      ).json<{ data: Department[]; page: { hasMore: boolean } }>();
      expect([...first.data, ...rest.data].map((d) => d.name).sort()).toEqual(['Berlin', 'EMEA', 'Sales', 'Support']);
      expect(rest.page.hasMore).toBe(false);

      const children = (await call(owner.accessToken, 'GET', `/departments?parentId=${sales.id}`)).json<{
        data: Department[];
      }>();
      expect(children.data.map((d) => d.id)).toEqual([emea.id]);
    });

    it('should nest the tree', async () => {
      const res = await call(owner.accessToken, 'GET', '/departments/tree');
      expect(res.statusCode).toBe(200);
      expect(res.json<TreeNode[]>()).toEqual([
        {
          id: sales.id,
          name: 'Sales',
          children: [{ id: emea.id, name: 'EMEA', children: [{ id: berlin.id, name: 'Berlin', children: [] }] }],
        },
        { id: support.id, name: 'Support', children: [] },
      ]);
    });

    it('should read one department', async () => {
      const res = await call(owner.accessToken, 'GET', `/departments/${berlin.id}`);
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: berlin.id, name: 'Berlin', parentId: emea.id, depth: 2 });
    });

    it('should refuse a duplicate sibling name (case-insensitive) with a conflict naming the field', async () => {
      const res = await call(owner.accessToken, 'POST', '/departments', { name: 'emea', parentId: sales.id });
      expect(expectProblem(res, 409, 'conflict')).toMatchObject({ field: 'name' });
      const root = await call(owner.accessToken, 'POST', '/departments', { name: 'SALES' });
      expect(expectProblem(root, 409, 'conflict')).toMatchObject({ field: 'name' });
      const rename = await call(owner.accessToken, 'PATCH', `/departments/${support.id}`, { name: 'Sales' });
      expect(expectProblem(rename, 409, 'conflict')).toMatchObject({ field: 'name' });
      // The same name elsewhere in the tree is fine.
      await create(owner.accessToken, 'EMEA', support.id);
    });

    it('should name the offending fields of invalid requests', async () => {
      const res = await call(owner.accessToken, 'POST', '/departments', { name: '  ', parentId: 'nope', extra: 1 });
      const body = expectProblem(res, 400, 'validation-failed');
      const fields = (body.errors as { field: string }[]).map((error) => error.field);
      expect(fields).toEqual(expect.arrayContaining(['name', 'parentId', 'extra']));
      expectProblem(await call(owner.accessToken, 'GET', '/departments/not-a-uuid'), 400, 'validation-failed');
      expectProblem(
        await call(owner.accessToken, 'POST', '/departments', { name: 'Orphan', parentId: randomUUID() }),
        404,
        'not-found',
      );
    });
  });

  describe('scoping', () => {
    let owner: TestAccount;
    let root: Department;
    let scoped: Department;
    let inside: Department;
    let outside: Department;
    let admin: { id: string; token: string };

    beforeAll(async () => {
      owner = await registerOwner(app, 'scope');
      root = await create(owner.accessToken, 'Root');
      scoped = await create(owner.accessToken, 'Scoped', root.id);
      inside = await create(owner.accessToken, 'Inside', scoped.id);
      outside = await create(owner.accessToken, 'Outside', root.id);
      admin = await member(owner.organizationId, 'admin', scoped.id);
    });

    it('should show a department-scoped user only their subtree', async () => {
      const list = await call(admin.token, 'GET', '/departments');
      expect(list.statusCode).toBe(200);
      expect(names(list.json<{ data: Department[] }>().data)).toEqual(['Inside', 'Scoped']);
      const tree = await call(admin.token, 'GET', '/departments/tree');
      expect(tree.json<TreeNode[]>()).toEqual([
        { id: scoped.id, name: 'Scoped', children: [{ id: inside.id, name: 'Inside', children: [] }] },
      ]);
      expect((await call(admin.token, 'GET', `/departments/${inside.id}`)).statusCode).toBe(200);
    });

    it('should answer 404 for a department outside the scope, as if it did not exist', async () => {
      expectProblem(await call(admin.token, 'GET', `/departments/${outside.id}`), 404, 'not-found');
      expectProblem(await call(admin.token, 'GET', `/departments/${root.id}`), 404, 'not-found');
      expectProblem(await call(admin.token, 'PATCH', `/departments/${outside.id}`, { name: 'X' }), 404, 'not-found');
      expectProblem(await call(admin.token, 'DELETE', `/departments/${outside.id}`), 404, 'not-found');
      expectProblem(
        await call(admin.token, 'POST', '/departments', { name: 'Sneaky', parentId: outside.id }),
        404,
        'not-found',
      );
      expectProblem(
        await call(admin.token, 'PATCH', `/departments/${inside.id}`, { parentId: outside.id }),
        404,
        'not-found',
      );
    });

    it('should let a department-scoped user create inside the subtree but not a root (403)', async () => {
      const res = await call(admin.token, 'POST', '/departments', { name: 'Deeper', parentId: inside.id });
      expect(res.statusCode).toBe(201);
      expect(res.json<Department>().path).toBe(`${inside.path}${res.json<Department>().id}/`);
      const rootAttempt = await call(admin.token, 'POST', '/departments', { name: 'New root' });
      expect(expectProblem(rootAttempt, 403, 'permission-denied')).toMatchObject({
        permission: 'departments:create',
      });
      expectProblem(
        await call(admin.token, 'PATCH', `/departments/${inside.id}`, { parentId: null }),
        403,
        'permission-denied',
      );
    });

    it('should refuse a reader who may not change (403), and a user without departments:read at all (403)', async () => {
      const viewer = await member(owner.organizationId, 'manager', scoped.id);
      expectProblem(
        await call(viewer.token, 'PATCH', `/departments/${inside.id}`, { name: 'Renamed' }),
        403,
        'permission-denied',
      );
      expectProblem(
        await call(viewer.token, 'POST', '/departments', { name: 'Nope', parentId: inside.id }),
        403,
        'permission-denied',
      );
      const nobody = await member(owner.organizationId, null, null);
      expectProblem(await call(nobody.token, 'GET', '/departments'), 403, 'permission-denied');
    });
  });

  describe('moving', () => {
    let owner: TestAccount;
    let a: Department;
    let child: Department;
    let grandchild: Department;
    let b: Department;

    beforeAll(async () => {
      owner = await registerOwner(app, 'move');
      a = await create(owner.accessToken, 'A');
      child = await create(owner.accessToken, 'Child', a.id);
      grandchild = await create(owner.accessToken, 'Grandchild', child.id);
      b = await create(owner.accessToken, 'B');
    });

    it('should rewrite the paths and depths of the whole subtree', async () => {
      const res = await call(owner.accessToken, 'PATCH', `/departments/${child.id}`, { parentId: b.id, name: 'Moved' });
      expect(res.statusCode).toBe(200);
      expect(res.json()).toMatchObject({ id: child.id, parentId: b.id, name: 'Moved', depth: 1 });
      expect(await pathsOf(child.id, grandchild.id)).toEqual({
        [child.id]: { path: `/${b.id}/${child.id}/`, depth: 1 },
        [grandchild.id]: { path: `/${b.id}/${child.id}/${grandchild.id}/`, depth: 2 },
      });

      const toRoot = await call(owner.accessToken, 'PATCH', `/departments/${child.id}`, { parentId: null });
      expect(toRoot.json()).toMatchObject({ parentId: null, depth: 0, path: `/${child.id}/` });
      expect(await pathsOf(grandchild.id)).toEqual({
        [grandchild.id]: { path: `/${child.id}/${grandchild.id}/`, depth: 1 },
      });
      // Untouched departments keep their paths.
      expect(await pathsOf(a.id, b.id)).toEqual({
        [a.id]: { path: `/${a.id}/`, depth: 0 },
        [b.id]: { path: `/${b.id}/`, depth: 0 },
      });
    });

    it('should refuse moving a department under itself or a descendant (409 department-cycle)', async () => {
      expectProblem(
        await call(owner.accessToken, 'PATCH', `/departments/${child.id}`, { parentId: grandchild.id }),
        409,
        'department-cycle',
      );
      expectProblem(
        await call(owner.accessToken, 'PATCH', `/departments/${child.id}`, { parentId: child.id }),
        409,
        'department-cycle',
      );
      expect(await pathsOf(child.id)).toEqual({ [child.id]: { path: `/${child.id}/`, depth: 0 } });
    });

    it('should refuse a move that makes two siblings share a name (409 conflict)', async () => {
      await create(owner.accessToken, 'Twin', a.id);
      const twin = await create(owner.accessToken, 'twin', b.id);
      const res = await call(owner.accessToken, 'PATCH', `/departments/${twin.id}`, { parentId: a.id });
      expectProblem(res, 409, 'conflict');
      expect(await pathsOf(twin.id)).toEqual({ [twin.id]: { path: `/${b.id}/${twin.id}/`, depth: 1 } });
    });
  });

  describe('deleting', () => {
    let owner: TestAccount;

    beforeAll(async () => {
      owner = await registerOwner(app, 'delete');
    });

    it('should delete an empty department', async () => {
      const empty = await create(owner.accessToken, 'Empty');
      expect((await call(owner.accessToken, 'DELETE', `/departments/${empty.id}`)).statusCode).toBe(204);
      expectProblem(await call(owner.accessToken, 'GET', `/departments/${empty.id}`), 404, 'not-found');
    });

    it('should refuse a department with children, members or assignments, counting them (409)', async () => {
      const full = await create(owner.accessToken, 'Full');
      await create(owner.accessToken, 'Kid', full.id);
      const person = await member(owner.organizationId, 'agent', full.id);
      await db.query('UPDATE users SET department_id = $1 WHERE id = $2', [full.id, person.id]);
      const res = await call(owner.accessToken, 'DELETE', `/departments/${full.id}`);
      expect(expectProblem(res, 409, 'department-not-empty')).toMatchObject({
        contents: { children: 1, members: 1, roleAssignments: 1 },
      });
      expect((await call(owner.accessToken, 'GET', `/departments/${full.id}`)).statusCode).toBe(200);
    });

    it('should move children (paths rewritten), members and assignments to moveTo, in one go', async () => {
      const old = await create(owner.accessToken, 'Old');
      const kid = await create(owner.accessToken, 'Kid', old.id);
      const grandkid = await create(owner.accessToken, 'Grandkid', kid.id);
      const target = await create(owner.accessToken, 'Target');
      const person = await member(owner.organizationId, 'agent', old.id);
      await db.query('UPDATE users SET department_id = $1 WHERE id = $2', [old.id, person.id]);
      // Caches the person's grant (scoped to the department about to go).
      expect((await call(person.token, 'GET', `/departments/${grandkid.id}`)).statusCode).toBe(200);

      expectProblem(
        await call(owner.accessToken, 'DELETE', `/departments/${old.id}?moveTo=${grandkid.id}`),
        409,
        'department-cycle',
      );
      expectProblem(
        await call(owner.accessToken, 'DELETE', `/departments/${old.id}?moveTo=${old.id}`),
        409,
        'department-cycle',
      );
      expectProblem(
        await call(owner.accessToken, 'DELETE', `/departments/${old.id}?moveTo=${randomUUID()}`),
        404,
        'not-found',
      );

      const res = await call(owner.accessToken, 'DELETE', `/departments/${old.id}?moveTo=${target.id}`);
      expect(res.statusCode).toBe(204);
      expect(await pathsOf(old.id, kid.id, grandkid.id)).toEqual({
        [kid.id]: { path: `/${target.id}/${kid.id}/`, depth: 1 },
        [grandkid.id]: { path: `/${target.id}/${kid.id}/${grandkid.id}/`, depth: 2 },
      });
      const [{ parent_id: kidParent }] = await db.query<{ parent_id: string }[]>(
        'SELECT parent_id FROM departments WHERE id = $1',
        [kid.id],
      );
      expect(kidParent).toBe(target.id);
      const [user] = await db.query<{ department_id: string }[]>('SELECT department_id FROM users WHERE id = $1', [
        person.id,
      ]);
      expect(user.department_id).toBe(target.id);
      const assignments = await db.query<{ department_id: string }[]>(
        'SELECT department_id FROM role_assignments WHERE user_id = $1',
        [person.id],
      );
      expect(assignments).toEqual([{ department_id: target.id }]);
      // The moved assignment now covers the target's subtree, on the very next request.
      expect((await call(person.token, 'GET', `/departments/${grandkid.id}`)).statusCode).toBe(200);
    });
  });

  describe('another organization', () => {
    it("should answer 404 for another organization's department on every route", async () => {
      const owner = await registerOwner(app, 'home');
      const stranger = await registerOwner(app, 'foreign');
      const mine = await create(owner.accessToken, 'Mine');
      const theirs = await create(stranger.accessToken, 'Theirs');
      const token = owner.accessToken;
      expectProblem(await call(token, 'GET', `/departments/${theirs.id}`), 404, 'not-found');
      expectProblem(await call(token, 'PATCH', `/departments/${theirs.id}`, { name: 'Mine now' }), 404, 'not-found');
      expectProblem(await call(token, 'DELETE', `/departments/${theirs.id}`), 404, 'not-found');
      expectProblem(
        await call(token, 'POST', '/departments', { name: 'Child', parentId: theirs.id }),
        404,
        'not-found',
      );
      expectProblem(await call(token, 'PATCH', `/departments/${mine.id}`, { parentId: theirs.id }), 404, 'not-found');
      expectProblem(await call(token, 'DELETE', `/departments/${mine.id}?moveTo=${theirs.id}`), 404, 'not-found');
      const list = (await call(token, 'GET', '/departments')).json<{ data: Department[] }>();
      expect(list.data.map((d) => d.id)).toEqual([mine.id]);
      expect((await call(stranger.accessToken, 'GET', `/departments/${theirs.id}`)).json()).toMatchObject({
        name: 'Theirs',
        parentId: null,
      });
    });
  });

  describe('cached grants', () => {
    it('should decide the very next request by the moved tree', async () => {
      const owner = await registerOwner(app, 'cache');
      const parent = await create(owner.accessToken, 'Parent');
      const moved = await create(owner.accessToken, 'Moved', parent.id);
      const below = await create(owner.accessToken, 'Below', moved.id);
      const elsewhere = await create(owner.accessToken, 'Elsewhere');
      const onParent = await member(owner.organizationId, 'manager', parent.id);
      const onMoved = await member(owner.organizationId, 'manager', moved.id);

      // Both users' grants are now cached.
      expect((await call(onParent.token, 'GET', `/departments/${below.id}`)).statusCode).toBe(200);
      expect(names((await call(onMoved.token, 'GET', '/departments')).json<{ data: Department[] }>().data)).toEqual([
        'Below',
        'Moved',
      ]);

      const res = await call(owner.accessToken, 'PATCH', `/departments/${moved.id}`, { parentId: elsewhere.id });
      expect(res.statusCode).toBe(200);

      // The grant on the old parent no longer covers the moved subtree.
      expectProblem(await call(onParent.token, 'GET', `/departments/${moved.id}`), 404, 'not-found');
      expectProblem(await call(onParent.token, 'GET', `/departments/${below.id}`), 404, 'not-found');
      expect(names((await call(onParent.token, 'GET', '/departments')).json<{ data: Department[] }>().data)).toEqual([
        'Parent',
      ]);
      // The grant on the moved department follows it (its cached path would match nothing any more).
      expect(names((await call(onMoved.token, 'GET', '/departments')).json<{ data: Department[] }>().data)).toEqual([
        'Below',
        'Moved',
      ]);
      expect((await call(onMoved.token, 'GET', `/departments/${below.id}`)).statusCode).toBe(200);
    });
  });
});
