import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { SERVICES } from '../../src/modules/rbac/permission';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs, type AssignmentFixture } from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

/**
 * The permission rule of DESIGN.md §3 checked exhaustively against an independent oracle: every
 * {service, action, scope} for users holding grants at different levels of a three-level department tree,
 * with exact keys and wildcards.
 */

const ACTIONS = ['read', 'create', 'update', 'delete', 'publish'] as const;

// Tree: root → middle → leaf, and a separate sibling root.
type DeptName = 'root' | 'middle' | 'leaf' | 'sibling';
const PARENT: Record<DeptName, DeptName | null> = { root: null, middle: 'root', leaf: 'middle', sibling: null };

function isWithin(target: DeptName, ancestor: DeptName): boolean {
  for (let node: DeptName | null = target; node; node = PARENT[node]) if (node === ancestor) return true;
  return false;
}

interface FixtureGrant {
  patterns: string[];
  scope: DeptName | 'organization';
}

const USERS: Record<string, FixtureGrant[]> = {
  orgViewer: [{ patterns: ['*:read'], scope: 'organization' }],
  customersAtMiddle: [{ patterns: ['customers:*'], scope: 'middle' }],
  publisherAtLeaf: [{ patterns: ['posts:publish', 'posts:read'], scope: 'leaf' }],
  updaterAtRoot: [{ patterns: ['*:update'], scope: 'root' }],
  mixed: [
    { patterns: ['media:create'], scope: 'sibling' },
    { patterns: ['audit:read', 'users:*'], scope: 'organization' },
  ],
  nobody: [],
};

function oracle(grants: FixtureGrant[], service: string, action: string, target: DeptName | null): boolean {
  return grants.some(
    (g) =>
      (g.scope === 'organization' || (target !== null && isWithin(target, g.scope))) &&
      g.patterns.some((p) => {
        const [s, a] = p.split(':');
        return (s === '*' || s === service) && (a === '*' || a === action);
      }),
  );
}

describe('Permission decisions', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  const departments = {} as Record<DeptName, string>;
  const users = {} as Record<string, { id: string; email: string }>;

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'rbac-matrix');
    const org = owner.organizationId;
    for (const name of ['root', 'middle', 'leaf', 'sibling'] as DeptName[]) {
      const parent = PARENT[name];
      departments[name] = (await insertDepartment(app, org, { name, parentId: parent && departments[parent] })).id;
    }
    for (const [label, grants] of Object.entries(USERS)) {
      const assignments: AssignmentFixture[] = [];
      for (const [i, grant] of grants.entries()) {
        const roleId = await insertRole(app, org, grant.patterns, `${label}-${i}`);
        assignments.push({ roleId, departmentId: grant.scope === 'organization' ? null : departments[grant.scope] });
      }
      users[label] = await insertMember(app, org, { label, name: label, assignments });
    }
  });

  afterAll(async () => {
    await app.close();
  });

  const check = (userId: string, permission: string, departmentId?: string) =>
    app.inject({
      url: '/api/v1/rbac/check',
      query: { userId, permission, ...(departmentId ? { departmentId } : {}) },
      headers: bearer(owner.accessToken),
    });

  it('should decide every {user, service, action, scope} as the rule says', async () => {
    const mismatches: string[] = [];
    let checked = 0;
    for (const [label, grants] of Object.entries(USERS)) {
      for (const service of SERVICES) {
        for (const action of ACTIONS) {
          for (const target of [null, 'root', 'middle', 'leaf', 'sibling'] as (DeptName | null)[]) {
            const res = await check(users[label].id, `${service}:${action}`, target ? departments[target] : undefined);
            const { allowed } = res.json<{ allowed: boolean }>();
            const expected = oracle(grants, service, action, target);
            checked++;
            if (res.statusCode !== 200 || allowed !== expected) {
              mismatches.push(
                `${label} ${service}:${action} @${target ?? 'organization'}: got ${res.statusCode}/${allowed}, want ${expected}`,
              );
            }
          }
        }
      }
    }
    expect(checked).toBe(Object.keys(USERS).length * SERVICES.length * ACTIONS.length * 5);
    expect(mismatches).toEqual([]);
  });

  it('should explain which role, scope and pattern granted it', async () => {
    const res = await check(users.customersAtMiddle.id, 'customers:delete', departments.leaf);
    expect(res.json()).toEqual({
      allowed: true,
      grantedBy: {
        role: { id: expect.any(String), name: 'customersAtMiddle-0' },
        scope: { type: 'department', departmentId: departments.middle },
        pattern: 'customers:*',
      },
    });
    expect((await check(users.nobody.id, 'customers:read')).json()).toEqual({ allowed: false, grantedBy: null });
  });

  it('should enforce the guard on real routes: a permission held nowhere is a 403', async () => {
    const nobody = await loginAs(app, users.nobody.email);
    const viewer = await loginAs(app, users.orgViewer.email);
    expectProblem(await app.inject({ url: '/api/v1/permissions', headers: bearer(nobody) }), 403, 'permission-denied');
    const list = await app.inject({ url: '/api/v1/permissions', headers: bearer(viewer) });
    expect(list.statusCode).toBe(200);
    expect(list.json()).toEqual(
      expect.arrayContaining([
        { key: 'roles:read', service: 'roles', action: 'read', description: expect.any(String) },
      ]),
    );
    // Self-service routes need no permission.
    expect((await app.inject({ url: '/api/v1/auth/me', headers: bearer(nobody) })).statusCode).toBe(200);
  });

  it('should answer 404 for users and departments of another organization (never reveal existence)', async () => {
    const stranger = await registerOwner(app, 'rbac-stranger');
    expectProblem(await check(stranger.userId, 'customers:read'), 404, 'not-found');
    const { id: foreignDepartment } = await insertDepartment(app, stranger.organizationId, { name: 'x' });
    expectProblem(await check(users.orgViewer.id, 'customers:read', foreignDepartment), 404, 'not-found');
  });

  it('should refuse malformed checks naming the field', async () => {
    const res = await check(users.orgViewer.id, "customers:read' OR '1'='1");
    const body = expectProblem(res, 400, 'validation-failed');
    expect(body.errors).toEqual([expect.objectContaining({ field: 'permission' })]);
  });
});
