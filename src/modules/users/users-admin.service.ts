import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { isUniqueViolation } from '../../core/database/unique-violation';
import { mapPage, type Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import type { AuthUser } from '../auth/auth-user';
import { EmailOtpService } from '../auth/email-otp.service';
import { SessionService } from '../auth/sessions/session.service';
import { PermissionService } from '../rbac/decision/permission.service';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import type { User } from './user.entity';
import { UserDto, type CreateUserDto, type ListUsersQueryDto, type UpdateUserDto } from './user.dto';
import { UserException, UserExceptionCode } from './user.exception';
import { USER_LIST, UsersAdminRepository, type UserListFilters } from './users-admin.repository';
import { UsersService } from './users.service';

// The same answer as a user outside the caller's read scope (PermissionService.assertAllowed), so a
// missing id, another organization's id and an unreadable user cannot be told apart.
function noSuchUser(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
}

function emailTaken(): UserException {
  return new UserException(UserExceptionCode.EmailTaken, 'An account with this email already exists.');
}

/**
 * User administration: list, invite, read, change, disable and enable the users of the caller's
 * organization, within the departments the caller's grants cover.
 */
@Injectable()
export class UsersAdminService {
  constructor(
    private readonly repository: UsersAdminRepository,
    private readonly users: UsersService,
    private readonly permissions: PermissionService,
    private readonly paginator: Paginator,
    private readonly sessions: SessionService,
    private readonly otps: EmailOtpService,
    private readonly tx: TransactionRunner,
  ) {}

  async list(caller: AuthUser, query: ListUsersQueryDto): Promise<Page<UserDto>> {
    const request = this.paginator.resolve(query, USER_LIST);
    const scope = await this.permissions.readableDepartments(caller, 'users:read');
    const filters: UserListFilters = { statuses: query.status, roleId: query.roleId, q: query.q };
    if (query.departmentId)
      filters.departmentPath = await this.permissions.departmentPath(caller.organizationId, query.departmentId);
    const rows = await this.repository.list(caller.organizationId, scope, filters, request);
    return mapPage(this.paginator.page(rows, request), (user) => UserDto.from(user));
  }

  /** Creates the user `invited` and mails them a code to choose their password (POST /auth/password/reset). */
  async invite(caller: AuthUser, input: CreateUserDto): Promise<User> {
    const departmentId = input.departmentId ?? null;
    await this.permissions.assertAllowedIn(caller, 'users:create', departmentId);
    try {
      return await this.tx.run(async (m) => {
        if (await this.users.existsByEmail(input.email, m)) throw emailTaken();
        const user = await this.users.create(
          {
            organizationId: caller.organizationId,
            email: input.email,
            name: input.name,
            status: 'invited',
            passwordHash: null,
            departmentId,
          },
          m,
        );
        // reset_password is the code POST /auth/password/reset takes; the mail is worded as an invitation.
        await this.otps.issue(user.email, 'reset_password', m, 'invite');
        return user;
      });
    } catch (error) {
      // Two invitations of one address at once: the unique index decides, the loser gets the same 409.
      if (isUniqueViolation(error)) throw emailTaken();
      throw error;
    }
  }

  async get(caller: AuthUser, id: string): Promise<User> {
    const user = await this.repository.findInOrganization(caller.organizationId, id);
    if (!user) throw noSuchUser();
    await this.permissions.assertAllowed(caller, 'users:read', user.departmentId);
    return user;
  }

  /** `expectedVersion` comes from If-Match; a stale one is a 412 and nothing changes. */
  async update(caller: AuthUser, id: string, input: UpdateUserDto, expectedVersion?: number): Promise<User> {
    return this.tx.run(async (m) => {
      const user = await this.repository.findInOrganization(caller.organizationId, id, m, true);
      if (!user) throw noSuchUser();
      await this.permissions.assertAllowed(caller, 'users:update', user.departmentId);
      if (expectedVersion !== undefined && expectedVersion !== user.version) {
        throw new UserException(UserExceptionCode.VersionMismatch, 'The user has changed since you read it.', {
          currentVersion: user.version,
        });
      }
      const changes: Partial<Pick<User, 'name' | 'departmentId'>> = {};
      if (input.name !== undefined && input.name !== user.name) changes.name = input.name;
      if (input.departmentId !== undefined && input.departmentId !== user.departmentId) {
        // Moving a user needs the permission where they are (checked above) and where they go.
        await this.permissions.assertAllowedIn(caller, 'users:update', input.departmentId);
        changes.departmentId = input.departmentId;
      }
      if (Object.keys(changes).length === 0) return user;
      await this.users.update(user.id, changes, m);
      return (await this.repository.findInOrganization(caller.organizationId, id, m)) ?? user;
    });
  }

  /** Status disabled and every session revoked in the same transaction: their tokens stop working at once. */
  async disable(caller: AuthUser, id: string): Promise<User> {
    return this.tx.run(async (m) => {
      const user = await this.repository.findInOrganization(caller.organizationId, id, m, true);
      if (!user) throw noSuchUser();
      await this.permissions.assertAllowed(caller, 'users:update', user.departmentId);
      if (user.id === caller.id) {
        throw new UserException(UserExceptionCode.CannotDisableSelf, 'You cannot disable your own account.');
      }
      if (user.status !== 'disabled') await this.users.update(user.id, { status: 'disabled' }, m);
      // Even when already disabled: a session that somehow survived must not.
      await this.sessions.revokeAllForUser(user.id, 'user-disabled', undefined, m);
      return (await this.repository.findInOrganization(caller.organizationId, id, m)) ?? user;
    });
  }

  /** Back to active, or to invited when they never set a password. Sessions revoked before stay revoked. */
  async enable(caller: AuthUser, id: string): Promise<User> {
    return this.tx.run(async (m) => {
      const user = await this.repository.findInOrganization(caller.organizationId, id, m, true);
      if (!user) throw noSuchUser();
      await this.permissions.assertAllowed(caller, 'users:update', user.departmentId);
      if (user.status !== 'disabled') return user;
      const status = (await this.repository.hasPassword(user.id, m)) ? 'active' : 'invited';
      await this.users.update(user.id, { status }, m);
      return (await this.repository.findInOrganization(caller.organizationId, id, m)) ?? user;
    });
  }
}
