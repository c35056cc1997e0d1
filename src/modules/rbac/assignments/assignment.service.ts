import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../../core/database/transaction.runner';
import { uuidv7 } from '../../../core/database/uuidv7';
import { ValidationException } from '../../../core/exceptions/app.exception';
import { AuditService } from '../../audit/audit.service';
import type { AuthUser } from '../../auth/auth-user';
import { decide, type Grant } from '../decision/grant';
import { GrantStore } from '../decision/grant.store';
import { RbacException, RbacExceptionCode } from '../rbac.exception';
import { RoleAssignment } from '../roles/role.entity';
import { RoleRepository } from '../roles/role.repository';
import { AssignmentRepository, type AssignmentRow } from './assignment.repository';
import { patternsNotHeld } from './escalation';

export interface NewAssignment {
  roleId: string;
  scope: { type: 'organization' | 'department'; departmentId?: string };
}

/**
 * Who holds which role where. Nobody grants what they do not hold: assigning a role at a scope needs
 * roles:assign and every pattern of the role at a scope covering it. The organization always keeps one
 * organization-wide owner. Every change bumps the organization's grant-cache version after commit.
 */
@Injectable()
export class AssignmentService {
  constructor(
    private readonly assignments: AssignmentRepository,
    private readonly roles: RoleRepository,
    private readonly tx: TransactionRunner,
    private readonly grants: GrantStore,
    private readonly audit: AuditService,
  ) {}

  async list(caller: AuthUser, userId: string): Promise<AssignmentRow[]> {
    await this.assertUser(caller.organizationId, userId);
    return this.assignments.listForUser(caller.organizationId, userId);
  }

  /** The user's effective grants: every pattern they hold, with the role and scope it comes from. */
  async effectiveGrants(caller: AuthUser, userId: string): Promise<Grant[]> {
    await this.assertUser(caller.organizationId, userId);
    return this.grants.grantsOf(caller.organizationId, userId);
  }

  async assign(caller: AuthUser, userId: string, input: NewAssignment): Promise<AssignmentRow> {
    const organizationId = caller.organizationId;
    const departmentId = departmentOf(input.scope);
    const id = await this.tx.run(async (m) => {
      await this.assertUser(organizationId, userId, m);
      // FOR SHARE: a concurrent delete of the role waits, so it cannot miss this assignment.
      const role = await this.roles.find(organizationId, input.roleId, m, 'pessimistic_read');
      if (!role) throw new RbacException(RbacExceptionCode.NotFound, 'No such role.');
      let targetPath: string | null = null;
      if (departmentId) {
        targetPath = await this.assignments.departmentPath(organizationId, departmentId, m);
        if (!targetPath) throw new RbacException(RbacExceptionCode.NotFound, 'No such department.');
      }
      const permissions = (await this.roles.permissionsOf([role.id], m)).get(role.id) ?? [];
      const callerGrants = await this.grants.grantsOf(organizationId, caller.id);
      const notHeld = patternsNotHeld(callerGrants, ['roles:assign', ...permissions], targetPath);
      if (notHeld.length) {
        throw new RbacException(
          RbacExceptionCode.Escalation,
          `You cannot grant at this scope what you do not hold there: ${notHeld.join(', ')}.`,
          { notHeld },
        );
      }
      if (await this.assignments.exists(userId, role.id, departmentId, m))
        throw new RbacException(RbacExceptionCode.Conflict, 'The user already has this role at this scope.');
      const assignment = m.create(RoleAssignment, {
        id: uuidv7(),
        organizationId,
        userId,
        roleId: role.id,
        departmentId,
        createdBy: caller.id,
        createdAt: new Date(),
      });
      await this.assignments.insert(assignment, m);
      await this.invalidateAfterCommit(organizationId);
      const granted = { userId, roleId: role.id, roleName: role.name, departmentId };
      await this.audit.recordChange(
        caller,
        {
          action: 'role-assignments.create',
          resourceType: 'role-assignments',
          resourceId: assignment.id,
          before: null,
          after: granted,
        },
        m,
      );
      return assignment.id;
    });
    const created = await this.assignments.findOne(organizationId, id);
    if (!created) throw new RbacException(RbacExceptionCode.NotFound, 'No such role assignment.');
    return created;
  }

  /**
   * Removes an assignment; needs roles:assign at its scope. The last organization-wide owner assignment
   * stays: the owner role's row lock serializes concurrent removals so two cannot both pass the count.
   */
  async unassign(caller: AuthUser, userId: string, assignmentId: string): Promise<void> {
    const organizationId = caller.organizationId;
    await this.tx.run(async (m) => {
      await this.assertUser(organizationId, userId, m);
      const assignment = await this.assignments.findForUpdate(organizationId, userId, assignmentId, m);
      if (!assignment) throw new RbacException(RbacExceptionCode.NotFound, 'No such role assignment.');
      const callerGrants = await this.grants.grantsOf(organizationId, caller.id);
      if (!decide(callerGrants, 'roles:assign', assignment.departmentPath).allowed) {
        await this.audit.recordDenied(caller, 'roles:assign', { assignmentId, departmentId: assignment.departmentId });
        throw new RbacException(
          RbacExceptionCode.PermissionDenied,
          'Removing this assignment needs the permission roles:assign at its scope.',
          { permission: 'roles:assign' },
        );
      }
      if (assignment.roleSystemKey === 'owner' && assignment.departmentId === null) {
        await this.roles.find(organizationId, assignment.roleId, m, 'pessimistic_write');
        if ((await this.assignments.countOrganizationWide(assignment.roleId, m)) <= 1) {
          throw new RbacException(
            RbacExceptionCode.LastOwner,
            'This is the last owner of the organization; make someone else owner first.',
          );
        }
      }
      await this.assignments.delete(assignment.id, m);
      await this.invalidateAfterCommit(organizationId);
      const { roleId, roleName, departmentId } = assignment;
      const revoked = { userId, roleId, roleName, departmentId };
      await this.audit.recordChange(
        caller,
        {
          action: 'role-assignments.delete',
          resourceType: 'role-assignments',
          resourceId: assignment.id,
          before: revoked,
          after: null,
        },
        m,
      );
    });
  }

  private async assertUser(organizationId: string, userId: string, m?: EntityManager): Promise<void> {
    if (!(await this.assignments.userExists(organizationId, userId, m)))
      throw new RbacException(RbacExceptionCode.NotFound, 'No such user.');
  }

  /** The audit entry of a change, in the change's transaction: both commit or neither does. */
  private invalidateAfterCommit(organizationId: string): Promise<void> {
    return this.tx.afterCommit(() => this.grants.invalidate(organizationId));
  }
}

function departmentOf(scope: NewAssignment['scope']): string | null {
  if (scope.type === 'department') return scope.departmentId ?? null;
  if (scope.departmentId !== undefined) {
    throw new ValidationException([
      { field: 'scope.departmentId', message: 'departmentId must be omitted for an organization scope' },
    ]);
  }
  return null;
}
