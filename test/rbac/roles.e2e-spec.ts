import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { GrantStore } from '../../src/modules/rbac/decision/grant.store';
import type { SystemRoleKey } from '../../src/modules/rbac/system-roles';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import * as fixtures from '../helpers/fixtures';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';

interface RoleBody {
  id: string;
  name: string;
  description: string;
  systemKey: string | null;
  permissions: string[];
}

interface AssignmentBody {
  id: string;
  role: { id: string; name: string; systemKey: string | null };
  scope: { type: string; departmentId?: string };
}

type Scope = { type: 'organization' } | { type: 'department'; departmentId: string };

interface Member {
  id: string;
  email: string;
  token: string;
}

describe('Roles and role assignments', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  const call = (
    method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE',
    url: string,
    token: string,
    payload?: object,
    on: NestFastifyApplication = app,
  ): Promise<LightMyRequestResponse> =>
    on.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload ? { payload } : {}) });

  const systemRoleId = (organizationId: string, key: SystemRoleKey) => fixtures.systemRoleId(app, organizationId, key);

  /** A department (under `parentId`) inserted directly: the department API is another feature's. */
  const insertDepartment = async (organizationId: string, parentId: string | null = null): Promise<string> =>
    (await fixtures.insertDepartment(app, organizationId, { parentId })).id;

  /** A second user of the organization with the given role assignments (made by SQL), logged in. */
  async function insertMember(
    organizationId: string,
    assignments: Array<{ roleId: string; departmentId?: string }> = [],
  ): Promise<Member> {
    const { id, email } = await fixtures.insertMember(app, organizationId, { assignments });
    await app.get(GrantStore).invalidate(organizationId);
    return { id, email, token: await fixtures.loginAs(app, email) };
  }

  async function createRole(token: string, name: string, permissions: string[]): Promise<RoleBody> {
    const res = await call('POST', '/roles', token, { name, permissions });
    expect(res.statusCode).toBe(201);
    return res.json<RoleBody>();
  }

  const assign = (token: string, userId: string, roleId: string, scope: Scope = { type: 'organization' }) =>
    call('POST', `/users/${userId}/roles`, token, { roleId, scope });

  describe('roles', () => {
    let owner: TestAccount;

    beforeAll(async () => {
      owner = await registerOwner(app, 'roles-crud');
    });

    it('should list the system roles first, each with its permissions', async () => {
      const res = await call('GET', '/roles', owner.accessToken);
      expect(res.statusCode).toBe(200);
      const roles = res.json<RoleBody[]>();
      expect(roles.slice(0, 5).map((role) => role.systemKey)).toEqual(['owner', 'admin', 'manager', 'agent', 'viewer']);
      expect(roles[0]).toMatchObject({ name: 'Owner', permissions: ['*:*'] });
      expect(roles[4]).toMatchObject({ name: 'Viewer', permissions: ['*:read'] });
    });

    it('should create, read, rename, re-permission and delete a custom role', async () => {
      const created = await call('POST', '/roles', owner.accessToken, {
        name: '  Support  ',
        description: 'Front line',
        permissions: ['posts:read', 'customers:read', 'customers:read'],
      });
      expect(created.statusCode).toBe(201);
      const role = created.json<RoleBody>();
      expect(role).toMatchObject({
        id: expect.any(String),
        name: 'Support',
        description: 'Front line',
        systemKey: null,
        permissions: ['customers:read', 'posts:read'],
      });

      const got = await call('GET', `/roles/${role.id}`, owner.accessToken);
      expect(got.statusCode).toBe(200);
      expect(got.json()).toMatchObject({ id: role.id, name: 'Support', permissions: ['customers:read', 'posts:read'] });
      const listed = (await call('GET', '/roles', owner.accessToken)).json<RoleBody[]>();
      expect(listed.at(-1)).toMatchObject({ id: role.id, name: 'Support' });

      const renamed = await call('PATCH', `/roles/${role.id}`, owner.accessToken, { name: 'Support desk' });
      expect(renamed.statusCode).toBe(200);
      expect(renamed.json()).toMatchObject({ name: 'Support desk', description: 'Front line' });

      const permitted = await call('PUT', `/roles/${role.id}/permissions`, owner.accessToken, {
        permissions: ['customers:*', '*:read'],
      });
      expect(permitted.statusCode).toBe(200);
      expect(permitted.json()).toMatchObject({ permissions: ['*:read', 'customers:*'] });

      const deleted = await call('DELETE', `/roles/${role.id}`, owner.accessToken);
      expect(deleted.statusCode).toBe(204);
      expectProblem(await call('GET', `/roles/${role.id}`, owner.accessToken), 404, 'not-found');
    });

    it('should refuse a second role of the same name in any letter case', async () => {
      const first = await createRole(owner.accessToken, 'Auditors', ['audit:read']);
      expectProblem(await call('POST', '/roles', owner.accessToken, { name: 'AUDITORS' }), 409, 'conflict');
      expectProblem(await call('POST', '/roles', owner.accessToken, { name: 'viewer' }), 409, 'conflict');
      const other = await createRole(owner.accessToken, 'Other auditors', []);
      expectProblem(
        await call('PATCH', `/roles/${other.id}`, owner.accessToken, { name: 'auditors' }),
        409,
        'conflict',
      );
      expect((await call('PATCH', `/roles/${first.id}`, owner.accessToken, { name: 'AUDITORS' })).statusCode).toBe(200);
    });

    it('should accept wildcards at every level', async () => {
      const role = await createRole(owner.accessToken, 'Wild', ['customers:*', '*:read', '*:*']);
      expect(role.permissions).toEqual(['*:*', '*:read', 'customers:*']);
    });

    it('should reject unknown permission keys with a 400 naming each of them', async () => {
      const bad = ['customers:fly', 'widgets:*', 'bogus', 'customers:read'];
      const created = expectProblem(
        await call('POST', '/roles', owner.accessToken, { name: 'Bad', permissions: bad }),
        400,
        'unknown-permission',
      );
      expect(created.unknown).toEqual(['bogus', 'customers:fly', 'widgets:*']);
      expect(created.detail).toEqual(expect.stringContaining('customers:fly'));
      expect(created.detail).toEqual(expect.stringContaining('widgets:*'));

      const role = await createRole(owner.accessToken, 'Fine', ['customers:read']);
      const put = expectProblem(
        await call('PUT', `/roles/${role.id}/permissions`, owner.accessToken, { permissions: ['*:fly'] }),
        400,
        'unknown-permission',
      );
      expect(put.unknown).toEqual(['*:fly']);
      expect((await call('GET', `/roles/${role.id}`, owner.accessToken)).json()).toMatchObject({
        permissions: ['customers:read'],
      });
    });

    it('should keep system roles from being renamed, re-permissioned or deleted', async () => {
      const adminId = await systemRoleId(owner.organizationId, 'admin');
      const ownerId = await systemRoleId(owner.organizationId, 'owner');
      expectProblem(
        await call('PATCH', `/roles/${adminId}`, owner.accessToken, { name: 'Boss' }),
        409,
        'system-role-immutable',
      );
      expectProblem(
        await call('PUT', `/roles/${adminId}/permissions`, owner.accessToken, { permissions: ['*:read'] }),
        409,
        'system-role-immutable',
      );
      expectProblem(await call('DELETE', `/roles/${adminId}`, owner.accessToken), 409, 'system-role-immutable');
      expectProblem(
        await call('DELETE', `/roles/${ownerId}?force=true`, owner.accessToken),
        409,
        'system-role-immutable',
      );
      expect((await call('GET', `/roles/${adminId}`, owner.accessToken)).json()).toMatchObject({
        name: 'Admin',
        systemKey: 'admin',
      });
    });

    it('should refuse to delete a role still assigned unless forced, and then remove its assignments', async () => {
      const role = await createRole(owner.accessToken, 'Temporary', ['posts:read']);
      const member = await insertMember(owner.organizationId);
      expect((await assign(owner.accessToken, member.id, role.id)).statusCode).toBe(201);

      const inUse = expectProblem(await call('DELETE', `/roles/${role.id}`, owner.accessToken), 409, 'role-in-use');
      expect(inUse.assignments).toBe(1);
      expect((await call('DELETE', `/roles/${role.id}?force=true`, owner.accessToken)).statusCode).toBe(204);
      expect((await call('GET', `/users/${member.id}/roles`, owner.accessToken)).json()).toEqual([]);
      expectProblem(await call('DELETE', `/roles/${role.id}?force=maybe`, owner.accessToken), 400, 'validation-failed');
    });
  });

  describe('assignments', () => {
    let owner: TestAccount;

    beforeAll(async () => {
      owner = await registerOwner(app, 'assignments');
    });

    it('should assign at organization and department scope, list on the user, and unassign', async () => {
      const department = await insertDepartment(owner.organizationId);
      const member = await insertMember(owner.organizationId);
      const agentId = await systemRoleId(owner.organizationId, 'agent');
      const viewerId = await systemRoleId(owner.organizationId, 'viewer');

      const orgWide = await assign(owner.accessToken, member.id, viewerId);
      expect(orgWide.statusCode).toBe(201);
      expect(orgWide.json()).toMatchObject({
        id: expect.any(String),
        role: { id: viewerId, name: 'Viewer', systemKey: 'viewer' },
        scope: { type: 'organization' },
        createdBy: owner.userId,
      });
      const inDepartment = await assign(owner.accessToken, member.id, agentId, {
        type: 'department',
        departmentId: department,
      });
      expect(inDepartment.statusCode).toBe(201);
      expectProblem(await assign(owner.accessToken, member.id, viewerId), 409, 'conflict');
      expectProblem(
        await call('POST', `/users/${member.id}/roles`, owner.accessToken, {
          roleId: viewerId,
          scope: { type: 'department' },
        }),
        400,
        'validation-failed',
      );

      const listed = await call('GET', `/users/${member.id}/roles`, owner.accessToken);
      expect(listed.statusCode).toBe(200);
      expect(listed.json<AssignmentBody[]>().map((a) => [a.role.name, a.scope])).toEqual([
        ['Viewer', { type: 'organization' }],
        ['Agent', { type: 'department', departmentId: department }],
      ]);

      const effective = await call('GET', `/users/${member.id}/effective-permissions`, owner.accessToken);
      expect(effective.statusCode).toBe(200);
      const grants = effective.json<Array<{ pattern: string; role: object; scope: object }>>();
      expect(grants).toContainEqual({
        pattern: '*:read',
        role: { id: viewerId, name: 'Viewer' },
        scope: { type: 'organization' },
      });
      expect(grants).toContainEqual({
        pattern: 'customers:update',
        role: { id: agentId, name: 'Agent' },
        scope: { type: 'department', departmentId: department },
      });
      expect(grants).toHaveLength(11);

      const removed = await call(
        'DELETE',
        `/users/${member.id}/roles/${inDepartment.json<AssignmentBody>().id}`,
        owner.accessToken,
      );
      expect(removed.statusCode).toBe(204);
      const after = (await call('GET', `/users/${member.id}/roles`, owner.accessToken)).json<AssignmentBody[]>();
      expect(after.map((a) => a.role.name)).toEqual(['Viewer']);
      const effectiveAfter = (await call('GET', `/users/${member.id}/effective-permissions`, owner.accessToken)).json<
        unknown[]
      >();
      expect(effectiveAfter).toEqual([
        { pattern: '*:read', role: { id: viewerId, name: 'Viewer' }, scope: { type: 'organization' } },
      ]);
    });

    it('should keep the last owner, and let one go once a second owner exists', async () => {
      const org = await registerOwner(app, 'last-owner');
      const ownerRole = await systemRoleId(org.organizationId, 'owner');
      const [mine] = (await call('GET', `/users/${org.userId}/roles`, org.accessToken)).json<AssignmentBody[]>();
      expect(mine.role.systemKey).toBe('owner');
      expectProblem(await call('DELETE', `/users/${org.userId}/roles/${mine.id}`, org.accessToken), 409, 'last-owner');

      const second = await insertMember(org.organizationId);
      // An owner in a department is not an owner of the organization.
      const department = await insertDepartment(org.organizationId);
      expect(
        (await assign(org.accessToken, second.id, ownerRole, { type: 'department', departmentId: department }))
          .statusCode,
      ).toBe(201);
      expectProblem(await call('DELETE', `/users/${org.userId}/roles/${mine.id}`, org.accessToken), 409, 'last-owner');

      const secondOwner = await assign(org.accessToken, second.id, ownerRole);
      expect(secondOwner.statusCode).toBe(201);
      expect((await call('DELETE', `/users/${org.userId}/roles/${mine.id}`, org.accessToken)).statusCode).toBe(204);
      // The former owner has no roles left: the very next request is denied.
      expectProblem(await call('GET', '/roles', org.accessToken), 403, 'permission-denied');
      expectProblem(
        await call('DELETE', `/users/${second.id}/roles/${secondOwner.json<AssignmentBody>().id}`, second.token),
        409,
        'last-owner',
      );
    });
  });

  describe('privilege escalation', () => {
    let owner: TestAccount;
    let admin: Member;
    let roles: Record<'owner' | 'admin' | 'manager' | 'agent' | 'viewer', string>;
    let root: string;
    let child: string;
    let sibling: string;
    let departmentAdmin: Member;

    beforeAll(async () => {
      owner = await registerOwner(app, 'escalation');
      const org = owner.organizationId;
      roles = {
        owner: await systemRoleId(org, 'owner'),
        admin: await systemRoleId(org, 'admin'),
        manager: await systemRoleId(org, 'manager'),
        agent: await systemRoleId(org, 'agent'),
        viewer: await systemRoleId(org, 'viewer'),
      };
      root = await insertDepartment(org);
      child = await insertDepartment(org, root);
      sibling = await insertDepartment(org);
      admin = await insertMember(org, [{ roleId: roles.admin }]);
      departmentAdmin = await insertMember(org, [{ roleId: roles.admin, departmentId: root }]);
    });

    it('should not let an admin assign the owner role or create a role with *:*', async () => {
      const target = await insertMember(owner.organizationId);
      const assigned = expectProblem(await assign(admin.token, target.id, roles.owner), 403, 'privilege-escalation');
      expect(assigned.notHeld).toEqual(['*:*']);
      expectProblem(await assign(admin.token, target.id, roles.viewer), 403, 'privilege-escalation');
      const created = expectProblem(
        await call('POST', '/roles', admin.token, { name: 'Root', permissions: ['*:*', 'customers:read'] }),
        403,
        'privilege-escalation',
      );
      expect(created.notHeld).toEqual(['*:*']);
      expectProblem(
        await call('POST', '/roles', admin.token, { name: 'Deleter', permissions: ['organizations:delete'] }),
        403,
        'privilege-escalation',
      );

      // What they hold, they may grant.
      expect((await assign(admin.token, target.id, roles.agent)).statusCode).toBe(201);
      const role = await createRole(admin.token, 'Helpers', ['customers:*', 'posts:read']);
      expectProblem(
        await call('PUT', `/roles/${role.id}/permissions`, admin.token, { permissions: ['customers:*', '*:delete'] }),
        403,
        'privilege-escalation',
      );
      expect((await call('GET', `/roles/${role.id}`, owner.accessToken)).json()).toMatchObject({
        permissions: ['customers:*', 'posts:read'],
      });
      expect((await assign(admin.token, target.id, role.id)).statusCode).toBe(201);
    });

    it('should confine a department-scoped admin to their subtree', async () => {
      const target = await insertMember(owner.organizationId);
      const denied = expectProblem(
        await assign(departmentAdmin.token, target.id, roles.agent),
        403,
        'privilege-escalation',
      );
      expect(denied.notHeld).toEqual(expect.arrayContaining(['roles:assign']));
      expectProblem(
        await assign(departmentAdmin.token, target.id, roles.agent, { type: 'department', departmentId: sibling }),
        403,
        'privilege-escalation',
      );
      expect(
        (await assign(departmentAdmin.token, target.id, roles.agent, { type: 'department', departmentId: root }))
          .statusCode,
      ).toBe(201);
      const inChild = await assign(departmentAdmin.token, target.id, roles.manager, {
        type: 'department',
        departmentId: child,
      });
      expect(inChild.statusCode).toBe(201);
      expect(
        (await call('DELETE', `/users/${target.id}/roles/${inChild.json<AssignmentBody>().id}`, departmentAdmin.token))
          .statusCode,
      ).toBe(204);

      // Assignments outside their subtree are out of reach, and roles are organization-level.
      const elsewhere = await assign(owner.accessToken, target.id, roles.agent, {
        type: 'department',
        departmentId: sibling,
      });
      expect(elsewhere.statusCode).toBe(201);
      expectProblem(
        await call('DELETE', `/users/${target.id}/roles/${elsewhere.json<AssignmentBody>().id}`, departmentAdmin.token),
        403,
        'permission-denied',
      );
      expectProblem(
        await call('POST', '/roles', departmentAdmin.token, { name: 'Mine', permissions: [] }),
        403,
        'permission-denied',
      );
    });

    it('should deny assigning and unassigning to a user without roles:assign', async () => {
      const manager = await insertMember(owner.organizationId, [{ roleId: roles.manager }]);
      const target = await insertMember(owner.organizationId);
      expectProblem(await assign(manager.token, target.id, roles.viewer), 403, 'permission-denied');
      const assigned = await assign(owner.accessToken, target.id, roles.viewer);
      expectProblem(
        await call('DELETE', `/users/${target.id}/roles/${assigned.json<AssignmentBody>().id}`, manager.token),
        403,
        'permission-denied',
      );
      expectProblem(await call('POST', '/roles', manager.token, { name: 'Nope' }), 403, 'permission-denied');
      // roles:read is enough to look.
      expect((await call('GET', `/users/${target.id}/roles`, manager.token)).statusCode).toBe(200);
    });
  });

  describe('other organizations', () => {
    it('should answer 404 for their users, roles, departments and assignments', async () => {
      const mine = await registerOwner(app, 'tenant-a');
      const theirs = await registerOwner(app, 'tenant-b');
      const theirRole = await createRole(theirs.accessToken, 'Theirs', ['posts:read']);
      const theirDepartment = await insertDepartment(theirs.organizationId);
      const [theirAssignment] = (await call('GET', `/users/${theirs.userId}/roles`, theirs.accessToken)).json<
        AssignmentBody[]
      >();
      const myViewer = await systemRoleId(mine.organizationId, 'viewer');
      const myMember = await insertMember(mine.organizationId);
      const token = mine.accessToken;

      for (const res of [
        await call('GET', `/roles/${theirRole.id}`, token),
        await call('PATCH', `/roles/${theirRole.id}`, token, { name: 'Mine now' }),
        await call('PUT', `/roles/${theirRole.id}/permissions`, token, { permissions: [] }),
        await call('DELETE', `/roles/${theirRole.id}?force=true`, token),
        await call('GET', `/users/${theirs.userId}/roles`, token),
        await call('GET', `/users/${theirs.userId}/effective-permissions`, token),
        await assign(token, theirs.userId, myViewer),
        await assign(token, myMember.id, theirRole.id),
        await assign(token, myMember.id, myViewer, { type: 'department', departmentId: theirDepartment }),
        await call('DELETE', `/users/${theirs.userId}/roles/${theirAssignment.id}`, token),
        await call('DELETE', `/users/${myMember.id}/roles/${theirAssignment.id}`, token),
      ]) {
        expectProblem(res, 404, 'not-found');
      }
      expect((await call('GET', '/roles', token)).json<RoleBody[]>().map((r) => r.id)).not.toContain(theirRole.id);
      expect((await call('GET', `/roles/${theirRole.id}`, theirs.accessToken)).json()).toMatchObject({
        name: 'Theirs',
        permissions: ['posts:read'],
      });
      expect((await call('GET', `/users/${theirs.userId}/roles`, theirs.accessToken)).json()).toHaveLength(1);
    });
  });

  describe('cache invalidation', () => {
    let second: NestFastifyApplication;

    beforeAll(async () => {
      second = await createTestApp();
    });

    afterAll(async () => {
      await second.close();
    });

    it('should decide the very next request by the changed role, on every API instance', async () => {
      const owner = await registerOwner(app, 'invalidation');
      const role = await createRole(owner.accessToken, 'Reader', ['organizations:read', 'roles:read']);
      const member = await insertMember(owner.organizationId);
      expect((await assign(owner.accessToken, member.id, role.id)).statusCode).toBe(201);
      const organization = (on: NestFastifyApplication) =>
        call('GET', '/organizations/current', member.token, undefined, on);
      const check = async (permission: string) =>
        (await call('GET', `/rbac/check?userId=${member.id}&permission=${permission}`, owner.accessToken)).json<{
          allowed: boolean;
          grantedBy: { role: { name: string } } | null;
        }>();

      expect((await organization(app)).statusCode).toBe(200);
      expect((await organization(second)).statusCode).toBe(200);
      expect(await check('customers:read')).toEqual({ allowed: false, grantedBy: null });

      const removed = await call('PUT', `/roles/${role.id}/permissions`, owner.accessToken, {
        permissions: ['roles:read', 'customers:read'],
      });
      expect(removed.statusCode).toBe(200);
      expectProblem(await organization(app), 403, 'permission-denied');
      expectProblem(await organization(second), 403, 'permission-denied');
      expect(await check('organizations:read')).toEqual({ allowed: false, grantedBy: null });
      expect(await check('customers:read')).toMatchObject({ allowed: true, grantedBy: { role: { name: 'Reader' } } });

      expect(
        (
          await call('PUT', `/roles/${role.id}/permissions`, owner.accessToken, {
            permissions: ['roles:read', 'organizations:read'],
          })
        ).statusCode,
      ).toBe(200);
      expect((await organization(second)).statusCode).toBe(200);
      expect((await organization(app)).statusCode).toBe(200);
      expect(await check('customers:read')).toEqual({ allowed: false, grantedBy: null });

      // A rename shows in the explanation at once, too.
      await call('PATCH', `/roles/${role.id}`, owner.accessToken, { name: 'Org reader' });
      expect(await check('organizations:read')).toMatchObject({ grantedBy: { role: { name: 'Org reader' } } });

      // Unassigning and deleting the role take effect at once as well.
      const [assignment] = (await call('GET', `/users/${member.id}/roles`, owner.accessToken)).json<AssignmentBody[]>();
      expect((await call('DELETE', `/users/${member.id}/roles/${assignment.id}`, owner.accessToken)).statusCode).toBe(
        204,
      );
      expectProblem(await organization(second), 403, 'permission-denied');
      expect((await assign(owner.accessToken, member.id, role.id)).statusCode).toBe(201);
      expect((await organization(second)).statusCode).toBe(200);
      expect((await call('DELETE', `/roles/${role.id}?force=true`, owner.accessToken)).statusCode).toBe(204);
      expectProblem(await organization(app), 403, 'permission-denied');
      expectProblem(await organization(second), 403, 'permission-denied');
    });
  });
});
