import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../../../core/database/transaction.runner';
import { uuidv7 } from '../../../core/database/uuidv7';
import { AuditService } from '../../audit/audit.service';
import type { AuthUser } from '../../auth/auth-user';
import { patternsNotHeld } from '../assignments/escalation';
import { decide, type Grant } from '../decision/grant';
import { GrantStore } from '../decision/grant.store';
import { isPermissionPattern, type PermissionKey } from '../permission';
import { PermissionCatalog } from '../permission-catalog.service';
import { RbacException, RbacExceptionCode } from '../rbac.exception';
import { Role } from './role.entity';
import { RoleRepository, type RoleWithPermissions } from './role.repository';

export interface NewRole {
  name: string;
  description?: string;
  permissions?: string[];
}

/**
 * Roles of an organization and their permission sets. Roles are organization-level: changing them needs the
 * roles:* permission organization-wide, and nobody can put into a role a pattern they do not hold
 * organization-wide themselves. Every change bumps the organization's grant-cache version after commit.
 */
@Injectable()
export class RoleService {
  constructor(
    private readonly roles: RoleRepository,
    private readonly tx: TransactionRunner,
    private readonly grants: GrantStore,
    private readonly catalog: PermissionCatalog,
    private readonly audit: AuditService,
  ) {}

  list(organizationId: string): Promise<RoleWithPermissions[]> {
    return this.roles.list(organizationId);
  }

  async get(organizationId: string, id: string): Promise<RoleWithPermissions> {
    const role = await this.roles.find(organizationId, id);
    if (!role) throw notFound();
    return { role, permissions: (await this.roles.permissionsOf([id])).get(id) ?? [] };
  }

  async create(caller: AuthUser, input: NewRole): Promise<RoleWithPermissions> {
    const grants = await this.callerGrants(caller, 'roles:create');
    const permissions = this.grantable(input.permissions ?? []);
    assertHeld(grants, permissions);
    const created = await this.tx.run(async (m) => {
      if (await this.roles.nameTaken(caller.organizationId, input.name, null, m)) throw nameConflict(input.name);
      const now = new Date();
      const role = m.create(Role, {
        id: uuidv7(),
        organizationId: caller.organizationId,
        name: input.name,
        description: input.description ?? '',
        systemKey: null,
        createdAt: now,
        updatedAt: now,
      });
      await this.roles.insert(role, permissions, m);
      await this.invalidateAfterCommit(caller.organizationId);
      await this.audit.recordChange(
        caller,
        {
          action: 'roles.create',
          resourceType: 'roles',
          resourceId: role.id,
          before: null,
          after: { name: role.name, description: role.description, permissions },
        },
        m,
      );
      return role;
    });
    return { role: created, permissions };
  }

  async update(
    caller: AuthUser,
    id: string,
    changes: { name?: string; description?: string },
  ): Promise<RoleWithPermissions> {
    await this.callerGrants(caller, 'roles:update');
    await this.tx.run(async (m) => {
      const role = await this.roles.find(caller.organizationId, id, m, 'pessimistic_write');
      if (!role) throw notFound();
      const renamed = changes.name !== undefined && changes.name !== role.name;
      if (renamed && role.systemKey) throw systemRole('renamed');
      if (renamed && (await this.roles.nameTaken(caller.organizationId, changes.name ?? '', id, m)))
        throw nameConflict(changes.name ?? '');
      await this.roles.update(id, changes, m);
      // The role's name travels in cached grants (rbac/check, effective permissions).
      await this.invalidateAfterCommit(caller.organizationId);
      const before = { name: role.name, description: role.description };
      await this.audit.recordChange(
        caller,
        {
          action: 'roles.update',
          resourceType: 'roles',
          resourceId: id,
          before: before,
          after: { ...before, ...changes },
        },
        m,
      );
    });
    return this.get(caller.organizationId, id);
  }

  async setPermissions(caller: AuthUser, id: string, requested: string[]): Promise<RoleWithPermissions> {
    const grants = await this.callerGrants(caller, 'roles:update');
    const permissions = this.grantable(requested);
    await this.tx.run(async (m) => {
      const role = await this.roles.find(caller.organizationId, id, m, 'pessimistic_write');
      if (!role) throw notFound();
      if (role.systemKey) throw systemRole('given other permissions');
      const current = new Set((await this.roles.permissionsOf([id], m)).get(id) ?? []);
      // Keeping what the role already has grants nothing new; only added patterns must be held.
      assertHeld(
        grants,
        permissions.filter((pattern) => !current.has(pattern)),
      );
      await this.roles.replacePermissions(id, permissions, m);
      await this.invalidateAfterCommit(caller.organizationId);
      await this.audit.recordChange(
        caller,
        {
          action: 'roles.permissions.update',
          resourceType: 'roles',
          resourceId: id,
          before: { permissions: [...current].sort() },
          after: { permissions },
        },
        m,
      );
    });
    return this.get(caller.organizationId, id);
  }

  /**
   * Deletes a custom role. A role still assigned is a 409 unless `force`, which removes its assignments too
   * (and so needs roles:assign at each of their scopes). System roles, the owner role among them, cannot be
   * deleted, so this never removes an owner.
   */
  async delete(caller: AuthUser, id: string, force: boolean): Promise<void> {
    const grants = await this.callerGrants(caller, 'roles:delete');
    await this.tx.run(async (m) => {
      // The row lock makes concurrent assignments of this role (which lock it FOR SHARE) wait or fail.
      const role = await this.roles.find(caller.organizationId, id, m, 'pessimistic_write');
      if (!role) throw notFound();
      if (role.systemKey) throw systemRole('deleted');
      const assignments = await this.roles.assignmentsOf(id, m);
      if (assignments.length && !force) {
        throw new RbacException(
          RbacExceptionCode.RoleInUse,
          `The role is still assigned ${assignments.length} time(s); remove the assignments or pass force=true.`,
          { assignments: assignments.length },
        );
      }
      const outOfReach = assignments.filter(
        (assignment) => !decide(grants, 'roles:assign', assignment.departmentPath).allowed,
      );
      if (outOfReach.length) {
        await this.audit.recordDenied(caller, 'roles:assign', { roleId: id, assignmentsOutOfReach: outOfReach.length });
        throw new RbacException(
          RbacExceptionCode.PermissionDenied,
          'Removing the assignments of this role needs roles:assign at each of their scopes.',
          { permission: 'roles:assign' },
        );
      }
      const permissions = (await this.roles.permissionsOf([id], m)).get(id) ?? [];
      await this.roles.deleteAssignmentsOf(id, m);
      await this.roles.delete(id, m);
      await this.invalidateAfterCommit(caller.organizationId);
      const before = { name: role.name, description: role.description, permissions };
      await this.audit.recordChange(
        caller,
        {
          action: 'roles.delete',
          resourceType: 'roles',
          resourceId: id,
          before: before,
          after: null,
          details: { removedAssignments: assignments.length },
        },
        m,
      );
    });
  }

  /** The caller's grants, once they are known to hold `permission` organization-wide (roles are org-level). */
  private async callerGrants(caller: AuthUser, permission: PermissionKey): Promise<Grant[]> {
    const grants = await this.grants.grantsOf(caller.organizationId, caller.id);
    // With no target department, decide() counts organization-wide grants only.
    if (!decide(grants, permission, null).allowed) {
      await this.audit.recordDenied(caller, permission, { scope: 'organization' });
      throw new RbacException(
        RbacExceptionCode.PermissionDenied,
        `This needs the permission ${permission} organization-wide.`,
        { permission },
      );
    }
    return grants;
  }

  /** Deduplicated, sorted patterns; unknown keys (or malformed ones) are a 400 naming every one of them. */
  private grantable(patterns: string[]): string[] {
    const unique = [...new Set(patterns.map((pattern) => pattern.trim()))].sort();
    const unknown = unique.filter((pattern) => !isPermissionPattern(pattern) || !this.catalog.isGrantable(pattern));
    if (unknown.length) {
      throw new RbacException(RbacExceptionCode.UnknownPermission, `Unknown permission(s): ${unknown.join(', ')}.`, {
        unknown,
      });
    }
    return unique;
  }

  /** The audit entry of a change, in the change's transaction: both commit or neither does. */
  private invalidateAfterCommit(organizationId: string): Promise<void> {
    return this.tx.afterCommit(() => this.grants.invalidate(organizationId));
  }
}

function assertHeld(grants: readonly Grant[], patterns: readonly string[]): void {
  const notHeld = patternsNotHeld(grants, patterns, null);
  if (notHeld.length) {
    throw new RbacException(
      RbacExceptionCode.Escalation,
      `You cannot grant what you do not hold organization-wide: ${notHeld.join(', ')}.`,
      { notHeld },
    );
  }
}

function notFound(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such role.');
}

function systemRole(what: string): RbacException {
  return new RbacException(RbacExceptionCode.SystemRole, `System roles cannot be ${what}.`);
}

function nameConflict(name: string): RbacException {
  return new RbacException(RbacExceptionCode.Conflict, `A role named "${name}" already exists.`);
}
