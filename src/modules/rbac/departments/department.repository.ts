import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { applyKeysetPage, type PageRequest } from '../../../core/pagination/keyset';
import { defineList } from '../../../core/pagination/sort';
import { Department } from './department.entity';

export const DEPARTMENT_LIST = defineList({
  scope: 'departments',
  idColumn: 'd.id',
  sorts: [
    { field: 'name', column: 'd.name', type: 'string' },
    // Path order is the tree in pre-order: every department right before its descendants.
    { field: 'path', column: 'd.path', type: 'string' },
    { field: 'createdAt', column: 'd.createdAt', type: 'date' },
  ],
  defaultSort: 'name',
});

/** What a department holds; deleting it needs these moved elsewhere. */
export interface DepartmentContents {
  /** Direct child departments. */
  children: number;
  /** Users whose department it is. */
  members: number;
  /** Role assignments scoped to it. */
  roleAssignments: number;
  /** Customers in it that are not deleted (deleted ones go to the parent department with it: see delete). */
  customers: number;
}

/** A WHERE fragment from PermissionService.readableCondition. */
export interface SqlCondition {
  sql: string;
  params: Record<string, unknown>;
}

/**
 * Queries of the department tree. Every lookup is by id AND organization, so another organization's id is
 * simply not found. Paths are made of uuids, which hold no LIKE wildcards, so a path is a safe LIKE prefix.
 */
@Injectable()
export class DepartmentRepository {
  constructor(private readonly dataSource: DataSource) {}

  private manager(manager?: EntityManager): EntityManager {
    return manager ?? this.dataSource.manager;
  }

  findInOrganization(organizationId: string, id: string, manager?: EntityManager): Promise<Department | null> {
    return this.manager(manager).findOneBy(Department, { id, organizationId });
  }

  /** One page of the readable departments, optionally only the children of one. */
  listPage(
    organizationId: string,
    readable: SqlCondition,
    filter: { parentId?: string },
    page: PageRequest,
  ): Promise<Department[]> {
    const qb = this.dataSource.manager
      .createQueryBuilder(Department, 'd')
      .where('d.organizationId = :organizationId', { organizationId })
      .andWhere(readable.sql, readable.params);
    if (filter.parentId) qb.andWhere('d.parentId = :parentId', { parentId: filter.parentId });
    return applyKeysetPage(qb, page).getMany();
  }

  /** Every readable department, parents before children (for the tree). */
  listReadable(organizationId: string, readable: SqlCondition): Promise<Department[]> {
    return this.dataSource.manager
      .createQueryBuilder(Department, 'd')
      .where('d.organizationId = :organizationId', { organizationId })
      .andWhere(readable.sql, readable.params)
      .orderBy('d.depth', 'ASC')
      .addOrderBy('lower(d.name)', 'ASC')
      .addOrderBy('d.id', 'ASC')
      .getMany();
  }

  /**
   * Serializes changes to one organization's tree until the transaction ends: paths are derived from the
   * parent's path, so a concurrent move could otherwise leave stale paths or build a cycle.
   */
  async lockTree(manager: EntityManager, organizationId: string): Promise<void> {
    await manager.query("SELECT pg_advisory_xact_lock(hashtextextended('atrium:departments:' || $1, 0))", [
      organizationId,
    ]);
  }

  async insert(manager: EntityManager, department: Department): Promise<void> {
    await manager.insert(Department, department);
  }

  async rename(manager: EntityManager, department: Department, name: string): Promise<void> {
    await manager.update(
      Department,
      { id: department.id, organizationId: department.organizationId },
      { name, updatedAt: new Date() },
    );
  }

  /**
   * Moves `department` with its whole subtree under `newParent` (null: to the root level) in one statement:
   * every path below it swaps the old prefix for the new one and every depth shifts by the same amount.
   */
  async moveSubtree(manager: EntityManager, department: Department, newParent: Department | null): Promise<void> {
    const newPath = `${newParent?.path ?? '/'}${department.id}/`;
    const depthDelta = (newParent ? newParent.depth + 1 : 0) - department.depth;
    await manager.query(
      `UPDATE departments
          SET path = $3 || substr(path, length($2) + 1),
              depth = depth + $4,
              parent_id = CASE WHEN id = $5 THEN $6::uuid ELSE parent_id END,
              updated_at = CASE WHEN id = $5 THEN now() ELSE updated_at END
        WHERE organization_id = $1 AND path LIKE $2 || '%'`,
      [department.organizationId, department.path, newPath, depthDelta, department.id, newParent?.id ?? null],
    );
  }

  async contents(manager: EntityManager, department: Department): Promise<DepartmentContents> {
    const [row] = await manager.query<Record<keyof DepartmentContents, number>[]>(
      `SELECT (SELECT count(*) FROM departments WHERE organization_id = $1 AND parent_id = $2)::int AS children,
              (SELECT count(*) FROM users WHERE organization_id = $1 AND department_id = $2)::int AS members,
              (SELECT count(*) FROM role_assignments WHERE organization_id = $1 AND department_id = $2)::int
                AS "roleAssignments",
              (SELECT count(*) FROM customers
                WHERE organization_id = $1 AND department_id = $2 AND deleted_at IS NULL)::int AS customers`,
      [department.organizationId, department.id],
    );
    return row;
  }

  /**
   * Hands everything `department` holds to `target`: its children (subtrees and paths rewritten in one
   * statement), its members, its customers (deleted ones too) and its role assignments. An assignment the user already has at the target
   * would be a duplicate and is dropped instead.
   */
  async moveContents(manager: EntityManager, department: Department, target: Department): Promise<void> {
    const { organizationId } = department;
    await manager.query(
      `UPDATE departments
          SET path = $3 || substr(path, length($2) + 1),
              depth = depth + $4,
              parent_id = CASE WHEN parent_id = $5 THEN $6::uuid ELSE parent_id END,
              updated_at = CASE WHEN parent_id = $5 THEN now() ELSE updated_at END
        WHERE organization_id = $1 AND path LIKE $2 || '_%'`,
      [organizationId, department.path, target.path, target.depth - department.depth, department.id, target.id],
    );
    await manager.query('UPDATE users SET department_id = $3 WHERE organization_id = $1 AND department_id = $2', [
      organizationId,
      department.id,
      target.id,
    ]);
    await manager.query('UPDATE customers SET department_id = $3 WHERE organization_id = $1 AND department_id = $2', [
      organizationId,
      department.id,
      target.id,
    ]);
    await manager.query(
      `DELETE FROM role_assignments a
        WHERE a.organization_id = $1 AND a.department_id = $2
          AND EXISTS (SELECT 1 FROM role_assignments b
                       WHERE b.user_id = a.user_id AND b.role_id = a.role_id AND b.department_id = $3)`,
      [organizationId, department.id, target.id],
    );
    await manager.query(
      'UPDATE role_assignments SET department_id = $3 WHERE organization_id = $1 AND department_id = $2',
      [organizationId, department.id, target.id],
    );
  }

  /**
   * Soft-deleted customers do not block a delete (contents() does not count them) but still reference the
   * department: they go to its parent (organization level for a root), where a restore finds them.
   */
  async delete(manager: EntityManager, department: Department): Promise<void> {
    await manager.query(
      'UPDATE customers SET department_id = $3 WHERE organization_id = $1 AND department_id = $2 AND deleted_at IS NOT NULL',
      [department.organizationId, department.id, department.parentId],
    );
    await manager.delete(Department, { id: department.id, organizationId: department.organizationId });
  }
}
