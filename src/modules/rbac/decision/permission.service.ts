import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../../../core/database/transaction.runner';
import { AuditService } from '../../audit/audit.service';
import type { AuthUser } from '../../auth/auth-user';
import { RbacException, RbacExceptionCode } from '../rbac.exception';
import { decide, readableScope, type Decision, type Grant } from './grant';
import { GrantStore } from './grant.store';

/** The SQL condition "row's department is readable", for list queries: `true`, or a path prefix match. */
export interface ReadableDepartments {
  all: boolean;
  /** Department path prefixes the caller may read; empty with all=false means nothing. */
  paths: string[];
}

/**
 * Decisions for services: whether the caller may act on a resource in a department, and which
 * departments a list may show. Cross-organization ids never reach here: services look resources up within
 * the caller's organization, so a foreign id is a 404 like a missing one.
 */
@Injectable()
export class PermissionService {
  constructor(
    private readonly grants: GrantStore,
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
  ) {}

  grantsOf(user: Pick<AuthUser, 'id' | 'organizationId'>): Promise<Grant[]> {
    return this.grants.grantsOf(user.organizationId, user.id);
  }

  async decide(
    user: Pick<AuthUser, 'id' | 'organizationId'>,
    permission: string,
    departmentId: string | null,
  ): Promise<Decision> {
    const targetPath = departmentId ? await this.departmentPath(user.organizationId, departmentId) : null;
    return decide(await this.grantsOf(user), permission, targetPath);
  }

  /**
   * For routes on one resource. Out of the caller's read scope the resource does not exist for them (404,
   * like another organization's); readable but not allowed is a 403 naming the permission.
   */
  async assertAllowed(
    user: AuthUser,
    permission: string,
    departmentId: string | null,
    readPermission?: string,
  ): Promise<void> {
    const grants = await this.grantsOf(user);
    const targetPath = departmentId ? await this.departmentPath(user.organizationId, departmentId) : null;
    if (decide(grants, permission, targetPath).allowed) return;
    const read = readPermission ?? `${permission.split(':')[0]}:read`;
    if (!decide(grants, read, targetPath).allowed)
      throw new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
    await this.audit.recordDenied(user, permission, { departmentId });
    throw new RbacException(RbacExceptionCode.PermissionDenied, `This needs the permission ${permission} here.`, {
      permission,
    });
  }

  /**
   * For a department named in a request body (where a new or moved resource goes): it must exist in the
   * caller's organization (404 naming `departmentId`), and the caller must hold `permission` there
   * (organization-wide for null); a denial is audited and answered 403 naming the permission.
   */
  async assertAllowedIn(user: AuthUser, permission: string, departmentId: string | null): Promise<void> {
    const targetPath = departmentId ? await this.departmentPath(user.organizationId, departmentId) : null;
    if (departmentId && targetPath === null)
      throw new RbacException(RbacExceptionCode.NotFound, 'No such department.', { field: 'departmentId' });
    if (decide(await this.grantsOf(user), permission, targetPath).allowed) return;
    await this.audit.recordDenied(user, permission, { departmentId });
    const where = departmentId ? 'in that department' : 'organization-wide';
    throw new RbacException(RbacExceptionCode.PermissionDenied, `This needs the permission ${permission} ${where}.`, {
      permission,
    });
  }

  /** Which departments a list query may show for `permission` (usually `<service>:read`). */
  async readableDepartments(user: AuthUser, permission: string): Promise<ReadableDepartments> {
    const scope = readableScope(await this.grantsOf(user), permission);
    return scope.all ? { all: true, paths: [] } : { all: false, paths: scope.paths };
  }

  /**
   * A WHERE fragment for a column holding a department id: rows in readable departments only. Rows with no
   * department are organization-level: only an organization-wide grant shows them.
   */
  readableCondition(
    scope: ReadableDepartments,
    column: string,
    parameterPrefix = 'readable',
  ): { sql: string; params: Record<string, unknown> } {
    if (scope.all) return { sql: 'TRUE', params: {} };
    if (!scope.paths.length) return { sql: 'FALSE', params: {} };
    return {
      sql: `${column} IN (SELECT d.id FROM departments d WHERE d.path LIKE ANY(:${parameterPrefix}Paths))`,
      params: { [`${parameterPrefix}Paths`]: scope.paths.map((path) => `${path}%`) },
    };
  }

  /**
   * The department's materialized path, or null when the organization has no such department. Inside a unit
   * of work (a write checking where its row is) it reads on the transaction's connection.
   */
  async departmentPath(organizationId: string, departmentId: string): Promise<string | null> {
    const rows: { path: string }[] = await this.tx.manager.query(
      'SELECT path FROM departments WHERE id = $1 AND organization_id = $2',
      [departmentId, organizationId],
    );
    return rows[0]?.path ?? null;
  }
}
