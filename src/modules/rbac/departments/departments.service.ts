import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../../core/database/transaction.runner';
import { isUniqueViolation } from '../../../core/database/unique-violation';
import { uuidv7 } from '../../../core/database/uuidv7';
import type { Page } from '../../../core/pagination/page.dto';
import { Paginator } from '../../../core/pagination/paginator';
import { AuditService } from '../../audit/audit.service';
import type { AuthUser } from '../../auth/auth-user';
import { GrantStore } from '../decision/grant.store';
import { PermissionService } from '../decision/permission.service';
import { RbacException, RbacExceptionCode } from '../rbac.exception';
import type {
  CreateDepartmentDto,
  DepartmentTreeNodeDto,
  ListDepartmentsQueryDto,
  UpdateDepartmentDto,
} from './department.dto';
import type { Department } from './department.entity';
import { DEPARTMENT_LIST, DepartmentRepository } from './department.repository';

const READ = 'departments:read';

const isSiblingNameConflict = (error: unknown) => isUniqueViolation(error, 'departments_sibling_name_idx');

/**
 * The department tree of an organization. Every change takes the organization's tree lock, re-reads what
 * it depends on inside the transaction and invalidates the cached grants after commit: grants carry the
 * paths of their departments, so a move changes what they cover.
 */
@Injectable()
export class DepartmentsService {
  constructor(
    private readonly departments: DepartmentRepository,
    private readonly permissions: PermissionService,
    private readonly grants: GrantStore,
    private readonly transactions: TransactionRunner,
    private readonly paginator: Paginator,
    private readonly audit: AuditService,
  ) {}

  async list(user: AuthUser, query: ListDepartmentsQueryDto): Promise<Page<Department>> {
    const request = this.paginator.resolve(query, DEPARTMENT_LIST);
    const readable = this.permissions.readableCondition(await this.permissions.readableDepartments(user, READ), 'd.id');
    const rows = await this.departments.listPage(user.organizationId, readable, { parentId: query.parentId }, request);
    return this.paginator.page(rows, request);
  }

  /** The readable departments as a forest: the top-most readable departments are its roots. */
  async tree(user: AuthUser): Promise<DepartmentTreeNodeDto[]> {
    const readable = this.permissions.readableCondition(await this.permissions.readableDepartments(user, READ), 'd.id');
    const rows = await this.departments.listReadable(user.organizationId, readable);
    const nodes = new Map<string, DepartmentTreeNodeDto>();
    const roots: DepartmentTreeNodeDto[] = [];
    // Rows come parents first, so a node's parent (when readable) is already in the map.
    for (const row of rows) {
      const node: DepartmentTreeNodeDto = { id: row.id, name: row.name, children: [] };
      nodes.set(row.id, node);
      const parent = row.parentId ? nodes.get(row.parentId) : undefined;
      (parent ? parent.children : roots).push(node);
    }
    return roots;
  }

  async get(user: AuthUser, id: string): Promise<Department> {
    const department = await this.find(user, id);
    await this.permissions.assertAllowed(user, READ, department.id);
    return department;
  }

  async create(user: AuthUser, body: CreateDepartmentDto): Promise<Department> {
    if (body.parentId) {
      const parent = await this.find(user, body.parentId, 'parentId');
      await this.permissions.assertAllowed(user, 'departments:create', parent.id, READ);
    } else {
      await this.assertOrganizationWide(user, 'departments:create', 'A root department');
    }
    return this.change(user.organizationId, 'name', async (manager) => {
      const parent = body.parentId ? await this.find(user, body.parentId, 'parentId', manager) : null;
      const id = uuidv7();
      const now = new Date();
      const department: Department = {
        id,
        organizationId: user.organizationId,
        parentId: parent?.id ?? null,
        name: body.name,
        path: `${parent?.path ?? '/'}${id}/`,
        depth: parent ? parent.depth + 1 : 0,
        createdAt: now,
        updatedAt: now,
      };
      await this.departments.insert(manager, department);
      await this.audit.recordChange(
        user,
        {
          action: 'departments.create',
          resourceType: 'departments',
          resourceId: id,
          before: null,
          after: { name: department.name, parentId: department.parentId },
        },
        manager,
      );
      return department;
    });
  }

  /** Renames and/or moves; a move takes the whole subtree along. */
  async update(user: AuthUser, id: string, body: UpdateDepartmentDto): Promise<Department> {
    const current = await this.find(user, id);
    await this.permissions.assertAllowed(user, 'departments:update', current.id);
    const moving = body.parentId !== undefined && body.parentId !== current.parentId;
    if (moving && body.parentId) {
      const newParent = await this.find(user, body.parentId, 'parentId');
      await this.permissions.assertAllowed(user, 'departments:create', newParent.id, READ);
    } else if (moving) {
      await this.assertOrganizationWide(user, 'departments:create', 'Moving to the root level');
    }
    await this.change(user.organizationId, 'name', async (manager) => {
      const department = await this.find(user, id, 'id', manager);
      const before = { name: department.name, parentId: department.parentId };
      const after = {
        name: body.name ?? department.name,
        parentId: moving ? (body.parentId ?? null) : department.parentId,
      };
      if (body.name !== undefined && body.name !== department.name)
        await this.departments.rename(manager, department, body.name);
      if (moving) {
        const newParent = body.parentId ? await this.find(user, body.parentId, 'parentId', manager) : null;
        if (newParent?.path.startsWith(department.path)) {
          throw new RbacException(
            RbacExceptionCode.DepartmentCycle,
            'A department cannot move under itself or one of its descendants.',
            { field: 'parentId' },
          );
        }
        await this.departments.moveSubtree(manager, department, newParent);
      }
      // Last in the transaction: the organization's audit chain stays locked only until the commit.
      await this.audit.recordChange(
        user,
        { action: 'departments.update', resourceType: 'departments', resourceId: id, before: before, after: after },
        manager,
      );
    });
    return this.find(user, id);
  }

  /**
   * Deletes a department. One that holds children, members, role assignments or customers is refused (409 with the
   * counts) unless `moveTo` names where they go; then everything moves there in the same transaction.
   */
  async delete(user: AuthUser, id: string, moveTo: string | undefined): Promise<void> {
    const current = await this.find(user, id);
    await this.permissions.assertAllowed(user, 'departments:delete', current.id);
    if (moveTo) {
      const target = await this.find(user, moveTo, 'moveTo');
      await this.permissions.assertAllowed(user, 'departments:create', target.id, READ);
    }
    await this.change(user.organizationId, 'moveTo', async (manager) => {
      const department = await this.find(user, id, 'id', manager);
      const contents = await this.departments.contents(manager, department);
      const empty = contents.children + contents.members + contents.roleAssignments + contents.customers === 0;
      if (!empty && !moveTo) {
        throw new RbacException(
          RbacExceptionCode.DepartmentNotEmpty,
          `The department holds ${contents.children} child department(s), ${contents.members} member(s), ` +
            `${contents.roleAssignments} role assignment(s) and ${contents.customers} customer(s); pass moveTo ` +
            'to move them to another department.',
          { contents },
        );
      }
      if (moveTo) {
        const target = await this.find(user, moveTo, 'moveTo', manager);
        if (target.path.startsWith(department.path)) {
          throw new RbacException(
            RbacExceptionCode.DepartmentCycle,
            'moveTo must be a department outside the one being deleted.',
            { field: 'moveTo' },
          );
        }
        if (!empty) await this.departments.moveContents(manager, department, target);
      }
      await this.departments.delete(manager, department);
      const before = { name: department.name, parentId: department.parentId };
      await this.audit.recordChange(
        user,
        {
          action: 'departments.delete',
          resourceType: 'departments',
          resourceId: id,
          before: before,
          after: null,
          details: { moveTo: moveTo ?? null, contents },
        },
        manager,
      );
    });
  }

  /** The audit entry of a change, in the change's transaction: both commit or neither does. */
  /** Looks a department up in the caller's organization: any other id is a 404 naming the field. */
  private async find(user: AuthUser, id: string, field = 'id', manager?: EntityManager): Promise<Department> {
    const department = await this.departments.findInOrganization(user.organizationId, id, manager);
    if (!department) throw new RbacException(RbacExceptionCode.NotFound, 'No such department.', { field });
    return department;
  }

  private async assertOrganizationWide(user: AuthUser, permission: string, what: string): Promise<void> {
    if ((await this.permissions.decide(user, permission, null)).allowed) return;
    await this.audit.recordDenied(user, permission, { scope: 'organization' });
    throw new RbacException(
      RbacExceptionCode.PermissionDenied,
      `${what} needs the permission ${permission} for the whole organization.`,
      { permission },
    );
  }

  /**
   * One change to the tree: under the tree lock, in one transaction, grants invalidated after commit. A
   * duplicate sibling name becomes a 409 naming `conflictField`.
   */
  private async change<T>(
    organizationId: string,
    conflictField: string,
    work: (manager: EntityManager) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.transactions.run(async (manager) => {
        await this.departments.lockTree(manager, organizationId);
        const result = await work(manager);
        await this.transactions.afterCommit(() => this.grants.invalidate(organizationId));
        return result;
      });
    } catch (error) {
      if (!isSiblingNameConflict(error)) throw error;
      throw new RbacException(
        RbacExceptionCode.Conflict,
        conflictField === 'name'
          ? 'A sibling department already has this name.'
          : 'A department of the same name already exists under moveTo.',
        { field: conflictField },
      );
    }
  }
}
