import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { SYSTEM_ROLES, type SystemRoleKey } from '../system-roles';
import { Role, RoleAssignment, RolePermission } from './role.entity';

const SYSTEM_ROLE_KEYS = Object.keys(SYSTEM_ROLES) as SystemRoleKey[];

type RowLock = 'pessimistic_write' | 'pessimistic_read';

export interface RoleWithPermissions {
  role: Role;
  permissions: string[];
}

/** An assignment of a role with the path of its department (null = organization-wide). */
export interface RoleAssignmentScope {
  id: string;
  departmentPath: string | null;
}

/** Queries on roles and their permissions, always within one organization. */
@Injectable()
export class RoleRepository {
  constructor(private readonly dataSource: DataSource) {}

  private m(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  /** System roles first (owner … viewer), then custom roles in creation order. */
  async list(organizationId: string): Promise<RoleWithPermissions[]> {
    const roles = await this.m()
      .getRepository(Role)
      .find({ where: { organizationId }, order: { createdAt: 'ASC', id: 'ASC' } });
    const rank = (role: Role) => (role.systemKey ? SYSTEM_ROLE_KEYS.indexOf(role.systemKey) : SYSTEM_ROLE_KEYS.length);
    roles.sort((a, b) => rank(a) - rank(b));
    const permissions = await this.permissionsOf(roles.map((role) => role.id));
    return roles.map((role) => ({ role, permissions: permissions.get(role.id) ?? [] }));
  }

  /** The role if it belongs to the organization; `lock` takes a row lock until the transaction ends. */
  find(organizationId: string, id: string, manager?: EntityManager, lock?: RowLock): Promise<Role | null> {
    return this.findOne('r.id = :id AND r.organizationId = :organizationId', { id, organizationId }, manager, lock);
  }

  findSystemRole(
    organizationId: string,
    systemKey: string,
    manager?: EntityManager,
    lock?: RowLock,
  ): Promise<Role | null> {
    return this.findOne(
      'r.organizationId = :organizationId AND r.systemKey = :systemKey',
      { organizationId, systemKey },
      manager,
      lock,
    );
  }

  async permissionsOf(roleIds: string[], manager?: EntityManager): Promise<Map<string, string[]>> {
    const result = new Map<string, string[]>();
    if (!roleIds.length) return result;
    const rows = await this.m(manager)
      .getRepository(RolePermission)
      .createQueryBuilder('rp')
      .where('rp.roleId IN (:...roleIds)', { roleIds })
      .orderBy('rp.permission')
      .getMany();
    for (const row of rows) result.set(row.roleId, [...(result.get(row.roleId) ?? []), row.permission]);
    return result;
  }

  /** Whether another role of the organization has this name, case-insensitively. */
  async nameTaken(
    organizationId: string,
    name: string,
    exceptId: string | null,
    manager?: EntityManager,
  ): Promise<boolean> {
    const rows: unknown[] = await this.m(manager).query(
      'SELECT 1 FROM roles WHERE organization_id = $1 AND lower(name) = lower($2) AND id IS DISTINCT FROM $3',
      [organizationId, name, exceptId],
    );
    return rows.length > 0;
  }

  async insert(role: Role, permissions: string[], manager: EntityManager): Promise<void> {
    await manager.insert(Role, role);
    await this.insertPermissions(role.id, permissions, manager);
  }

  async update(id: string, changes: Partial<Pick<Role, 'name' | 'description'>>, manager: EntityManager) {
    await manager.update(Role, { id }, { ...changes, updatedAt: new Date() });
  }

  async replacePermissions(id: string, permissions: string[], manager: EntityManager): Promise<void> {
    await manager.delete(RolePermission, { roleId: id });
    await this.insertPermissions(id, permissions, manager);
    await manager.update(Role, { id }, { updatedAt: new Date() });
  }

  /** Deletes the role; its permissions and assignments go with it (ON DELETE CASCADE). */
  async delete(id: string, manager: EntityManager): Promise<void> {
    await manager.delete(Role, { id });
  }

  async assignmentsOf(roleId: string, manager?: EntityManager): Promise<RoleAssignmentScope[]> {
    const rows: Array<{ id: string; department_path: string | null }> = await this.m(manager).query(
      `SELECT a.id, d.path AS department_path
         FROM role_assignments a LEFT JOIN departments d ON d.id = a.department_id
        WHERE a.role_id = $1`,
      [roleId],
    );
    return rows.map((row) => ({ id: row.id, departmentPath: row.department_path }));
  }

  async deleteAssignmentsOf(roleId: string, manager: EntityManager): Promise<void> {
    await manager.delete(RoleAssignment, { roleId });
  }

  /** The role (alias `r`) matching `where`, optionally row-locked. */
  private findOne(
    where: string,
    parameters: Record<string, unknown>,
    manager?: EntityManager,
    lock?: RowLock,
  ): Promise<Role | null> {
    const qb = this.m(manager).getRepository(Role).createQueryBuilder('r').where(where, parameters);
    if (lock) qb.setLock(lock);
    return qb.getOne();
  }

  private async insertPermissions(roleId: string, permissions: string[], manager: EntityManager): Promise<void> {
    if (!permissions.length) return;
    await manager.insert(
      RolePermission,
      permissions.map((permission) => ({ roleId, permission })),
    );
  }
}
