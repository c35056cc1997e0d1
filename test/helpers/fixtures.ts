import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { PasswordHasher } from '../../src/core/security/password-hasher';
import type { SystemRoleKey } from '../../src/modules/rbac/system-roles';
import type { UserStatus } from '../../src/modules/users/user.entity';
import { TEST_PASSWORD, uniqueEmail } from './auth';

/*
 * Rows inserted with SQL, so that a test does not depend on another feature's API (user administration,
 * departments, roles). Nothing here goes through the RBAC services: a test that needs the grant cache to see
 * the new rows invalidates it itself.
 */

/** One role assignment: a role by id, or an organization's system role by key; organization-wide without a department. */
export type AssignmentFixture = ({ roleId: string } | { roleKey: SystemRoleKey }) & { departmentId?: string | null };

export interface MemberFixture {
  /** Labels the generated email (`uniqueEmail(label)`); 'member' by default. Unused when `email` is given. */
  label?: string;
  email?: string;
  /** 'Member' by default. */
  name?: string;
  /** 'active' by default. */
  status?: UserStatus;
  /** The department the user belongs to (users.department_id), not the scope of a role; none by default. */
  departmentId?: string | null;
  /** The database's now() by default. */
  createdAt?: Date;
  /** Hashed by the app's PasswordHasher; TEST_PASSWORD by default. */
  password?: string;
  assignments?: AssignmentFixture[];
}

/** The id of one of an organization's system roles. */
export async function systemRoleId(
  app: NestFastifyApplication,
  organizationId: string,
  key: SystemRoleKey,
): Promise<string> {
  const [row] = await app
    .get(DataSource)
    .query<{ id: string }[]>('SELECT id FROM roles WHERE organization_id = $1 AND system_key = $2', [
      organizationId,
      key,
    ]);
  if (!row) throw new Error(`no system role ${key} in organization ${organizationId}`);
  return row.id;
}

/** A user of an existing organization, with the given role assignments. */
export async function insertMember(
  app: NestFastifyApplication,
  organizationId: string,
  fixture: MemberFixture = {},
): Promise<{ id: string; email: string }> {
  const db = app.get(DataSource);
  const id = randomUUID();
  const email = fixture.email ?? uniqueEmail(fixture.label ?? 'member');
  const passwordHash = await app.get(PasswordHasher).hash(fixture.password ?? TEST_PASSWORD);
  await db.query(
    `INSERT INTO users (id, organization_id, email, name, status, password_hash, department_id, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8::timestamptz, now()))`,
    [
      id,
      organizationId,
      email,
      fixture.name ?? 'Member',
      fixture.status ?? 'active',
      passwordHash,
      fixture.departmentId ?? null,
      fixture.createdAt ?? null,
    ],
  );
  for (const assignment of fixture.assignments ?? []) await insertAssignment(app, organizationId, id, assignment);
  return { id, email };
}

/** Assigns a role to a user of the organization. */
export async function insertAssignment(
  app: NestFastifyApplication,
  organizationId: string,
  userId: string,
  assignment: AssignmentFixture,
): Promise<void> {
  const roleId =
    'roleId' in assignment ? assignment.roleId : await systemRoleId(app, organizationId, assignment.roleKey);
  await app
    .get(DataSource)
    .query(
      'INSERT INTO role_assignments (id, organization_id, user_id, role_id, department_id) VALUES ($1, $2, $3, $4, $5)',
      [randomUUID(), organizationId, userId, roleId, assignment.departmentId ?? null],
    );
}

/** A custom role of the organization holding exactly `permissions`. */
export async function insertRole(
  app: NestFastifyApplication,
  organizationId: string,
  permissions: readonly string[],
  name?: string,
): Promise<string> {
  const db = app.get(DataSource);
  const id = randomUUID();
  await db.query('INSERT INTO roles (id, organization_id, name) VALUES ($1, $2, $3)', [
    id,
    organizationId,
    name ?? `role-${id.slice(0, 8)}`,
  ]);
  await db.query('INSERT INTO role_permissions (role_id, permission) SELECT $1, unnest($2::text[])', [id, permissions]);
  return id;
}

/** A department of the organization, a root unless `parentId` is given, with its materialized path and depth. */
export async function insertDepartment(
  app: NestFastifyApplication,
  organizationId: string,
  options: { name?: string; parentId?: string | null } = {},
): Promise<{ id: string; path: string }> {
  const db = app.get(DataSource);
  const id = randomUUID();
  const parentId = options.parentId ?? null;
  const [parent] = parentId
    ? await db.query<{ path: string; depth: number }[]>('SELECT path, depth FROM departments WHERE id = $1', [parentId])
    : [{ path: '/', depth: -1 }];
  if (!parent) throw new Error(`no department ${parentId}`);
  const path = `${parent.path}${id}/`;
  await db.query(
    'INSERT INTO departments (id, organization_id, parent_id, name, path, depth) VALUES ($1, $2, $3, $4, $5, $6)',
    [id, organizationId, parentId, options.name ?? `dept-${id.slice(0, 8)}`, path, parent.depth + 1],
  );
  return { id, path };
}

/** Signs in with email and password; the access token. */
export async function loginAs(app: NestFastifyApplication, email: string, password = TEST_PASSWORD): Promise<string> {
  const res = await app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  expect(res.statusCode).toBe(200);
  return res.json<{ accessToken: string }>().accessToken;
}
