import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bearer, registerOwner, TEST_PASSWORD, type TestAccount } from '../helpers/auth';
import { auditEntries, firstBrokenLink } from '../helpers/audit';
import { insertMember } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';

describe('Audit of RBAC changes and denied checks', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'audit-rbac');
  });

  afterAll(async () => {
    await app.close();
  });

  const call = (
    method: 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    payload?: object,
    token = owner.accessToken,
  ) => app.inject({ method, url: `/api/v1${url}`, headers: bearer(token), ...(payload ? { payload } : {}) });

  it('should record a role permissions change with the before/after of the permissions only', async () => {
    const created = await call('POST', '/roles', { name: 'Auditors', permissions: ['customers:read'] });
    expect(created.statusCode).toBe(201);
    const roleId = created.json<{ id: string }>().id;
    const put = await call('PUT', `/roles/${roleId}/permissions`, { permissions: ['customers:read', 'posts:read'] });
    expect(put.statusCode).toBe(200);

    const entries = await auditEntries(app, owner.organizationId);
    const create = entries.find((entry) => entry.action === 'roles.create' && entry.resourceId === roleId);
    expect(create?.changes).toEqual({
      before: {},
      after: { name: 'Auditors', description: '', permissions: ['customers:read'] },
    });
    const update = entries.find((entry) => entry.action === 'roles.permissions.update' && entry.resourceId === roleId);
    expect(update).toMatchObject({
      actorId: owner.userId,
      resourceType: 'roles',
      outcome: 'success',
      changes: {
        before: { permissions: ['customers:read'] },
        after: { permissions: ['customers:read', 'posts:read'] },
      },
    });
    expect(firstBrokenLink(entries)).toBeNull();
  });

  it('should record an assignment and its removal, without secrets', async () => {
    const member = await insertMember(app, owner.organizationId, { label: 'audit-assignee' });
    const role = await call('POST', '/roles', { name: 'Readers', permissions: ['customers:read'] });
    const roleId = role.json<{ id: string }>().id;
    const assigned = await call('POST', `/users/${member.id}/roles`, { roleId, scope: { type: 'organization' } });
    expect(assigned.statusCode).toBe(201);
    const assignmentId = assigned.json<{ id: string }>().id;
    expect((await call('DELETE', `/users/${member.id}/roles/${assignmentId}`)).statusCode).toBe(204);

    const entries = await auditEntries(app, owner.organizationId);
    expect(entries.find((entry) => entry.action === 'role-assignments.create')).toMatchObject({
      resourceId: assignmentId,
      changes: { before: {}, after: { userId: member.id, roleId, roleName: 'Readers', departmentId: null } },
    });
    expect(entries.find((entry) => entry.action === 'role-assignments.delete')).toMatchObject({
      resourceId: assignmentId,
      changes: { before: { userId: member.id, roleId }, after: {} },
    });
    expect(JSON.stringify(entries)).not.toContain(TEST_PASSWORD);
  });

  it('should record department changes with diffs', async () => {
    const created = await call('POST', '/departments', { name: 'Sales' });
    expect(created.statusCode).toBe(201);
    const id = created.json<{ id: string }>().id;
    expect((await call('PATCH', `/departments/${id}`, { name: 'Field sales' })).statusCode).toBe(200);
    expect((await call('DELETE', `/departments/${id}`)).statusCode).toBe(204);
    const entries = (await auditEntries(app, owner.organizationId)).filter((entry) => entry.resourceId === id);
    expect(entries.map((entry) => entry.action)).toEqual([
      'departments.create',
      'departments.update',
      'departments.delete',
    ]);
    expect(entries[1].changes).toEqual({ before: { name: 'Sales' }, after: { name: 'Field sales' } });
  });

  it('should record a denied permission check as denied, and nothing for an allowed read', async () => {
    const viewer = await insertMember(app, owner.organizationId, {
      label: 'audit-viewer',
      assignments: [{ roleKey: 'viewer' }],
    });
    const login = await app.inject({
      method: 'POST',
      url: '/api/v1/auth/login',
      payload: { email: viewer.email, password: TEST_PASSWORD },
    });
    const token = login.json<{ accessToken: string }>().accessToken;
    const before = (await auditEntries(app, owner.organizationId)).length;
    const allowed = await app.inject({ method: 'GET', url: '/api/v1/organizations/current', headers: bearer(token) });
    expect(allowed.statusCode).toBe(200);
    expect(await auditEntries(app, owner.organizationId)).toHaveLength(before);

    const denied = await call('POST', '/roles', { name: 'Nope' }, token);
    expect(denied.statusCode).toBe(403);
    const entries = await auditEntries(app, owner.organizationId);
    expect(entries.at(-1)).toMatchObject({
      action: 'permission.denied',
      outcome: 'denied',
      actorId: viewer.id,
      resourceType: 'roles',
      details: { permission: 'roles:create', route: 'POST /api/v1/roles' },
    });
    expect(firstBrokenLink(entries)).toBeNull();
  });
});
