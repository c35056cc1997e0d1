import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import type { SystemRoleKey } from '../system-roles';
import { RoleAssignment } from '../roles/role.entity';

/** An assignment with its role and the path of its department (null = organization-wide). */
export interface AssignmentRow {
  id: string;
  userId: string;
  roleId: string;
  roleName: string;
  roleSystemKey: SystemRoleKey | null;
  departmentId: string | null;
  departmentPath: string | null;
  createdBy: string | null;
  createdAt: Date;
}

interface RawAssignment {
  id: string;
  user_id: string;
  role_id: string;
  role_name: string;
  role_system_key: SystemRoleKey | null;
  department_id: string | null;
  department_path: string | null;
  created_by: string | null;
  created_at: Date;
}

const SELECT_ASSIGNMENT = `
  SELECT a.id, a.user_id, a.role_id, r.name AS role_name, r.system_key AS role_system_key,
         a.department_id, d.path AS department_path, a.created_by, a.created_at
    FROM role_assignments a
    JOIN roles r ON r.id = a.role_id
    LEFT JOIN departments d ON d.id = a.department_id`;

function toRow(raw: RawAssignment): AssignmentRow {
  return {
    id: raw.id,
    userId: raw.user_id,
    roleId: raw.role_id,
    roleName: raw.role_name,
    roleSystemKey: raw.role_system_key,
    departmentId: raw.department_id,
    departmentPath: raw.department_path,
    createdBy: raw.created_by,
    createdAt: raw.created_at,
  };
}

/** Queries on role assignments and the users and departments they refer to, always within one organization. */
@Injectable()
export class AssignmentRepository {
  constructor(private readonly dataSource: DataSource) {}

  private m(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  async userExists(organizationId: string, userId: string, manager?: EntityManager): Promise<boolean> {
    const rows: unknown[] = await this.m(manager).query('SELECT 1 FROM users WHERE id = $1 AND organization_id = $2', [
      userId,
      organizationId,
    ]);
    return rows.length > 0;
  }

  /** The department's materialized path, or null when the organization has no such department. */
  async departmentPath(organizationId: string, departmentId: string, manager?: EntityManager): Promise<string | null> {
    const rows: { path: string }[] = await this.m(manager).query(
      'SELECT path FROM departments WHERE id = $1 AND organization_id = $2',
      [departmentId, organizationId],
    );
    return rows[0]?.path ?? null;
  }

  /** Organization-wide first, then by department depth and creation. */
  async listForUser(organizationId: string, userId: string): Promise<AssignmentRow[]> {
    const rows: RawAssignment[] = await this.m().query(
      `${SELECT_ASSIGNMENT}
        WHERE a.organization_id = $1 AND a.user_id = $2
        ORDER BY a.department_id IS NOT NULL, d.depth NULLS FIRST, a.created_at, a.id`,
      [organizationId, userId],
    );
    return rows.map(toRow);
  }

  /** One assignment of the user, row-locked until the transaction ends. */
  async findForUpdate(
    organizationId: string,
    userId: string,
    id: string,
    manager: EntityManager,
  ): Promise<AssignmentRow | null> {
    const rows: RawAssignment[] = await manager.query(
      `${SELECT_ASSIGNMENT}
        WHERE a.id = $1 AND a.organization_id = $2 AND a.user_id = $3
        FOR UPDATE OF a`,
      [id, organizationId, userId],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  async findOne(organizationId: string, id: string, manager?: EntityManager): Promise<AssignmentRow | null> {
    const rows: RawAssignment[] = await this.m(manager).query(
      `${SELECT_ASSIGNMENT} WHERE a.id = $1 AND a.organization_id = $2`,
      [id, organizationId],
    );
    return rows[0] ? toRow(rows[0]) : null;
  }

  async exists(userId: string, roleId: string, departmentId: string | null, manager: EntityManager): Promise<boolean> {
    const rows: unknown[] = await manager.query(
      'SELECT 1 FROM role_assignments WHERE user_id = $1 AND role_id = $2 AND department_id IS NOT DISTINCT FROM $3',
      [userId, roleId, departmentId],
    );
    return rows.length > 0;
  }

  /** How many organization-wide assignments the role has. */
  async countOrganizationWide(roleId: string, manager: EntityManager): Promise<number> {
    const [row] = await manager.query<{ count: number }[]>(
      'SELECT count(*)::int AS count FROM role_assignments WHERE role_id = $1 AND department_id IS NULL',
      [roleId],
    );
    return row?.count ?? 0;
  }

  async insert(assignment: RoleAssignment, manager: EntityManager): Promise<void> {
    await manager.insert(RoleAssignment, assignment);
  }

  async delete(id: string, manager: EntityManager): Promise<void> {
    await manager.delete(RoleAssignment, { id });
  }
}
