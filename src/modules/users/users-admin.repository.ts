import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, type Repository } from 'typeorm';
import { applyKeysetPage, type PageRequest } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import { User, type UserStatus } from './user.entity';
import { escapeLike } from '../../core/database/like-pattern';

/** GET /users: sorts served by (organization_id, created_at, id); name and email sort within one tenant. */
export const USER_LIST = defineList({
  scope: 'users',
  idColumn: 'u.id',
  sorts: [
    { field: 'createdAt', column: 'u.created_at', type: 'date' },
    { field: 'name', column: 'u.name', type: 'string' },
    { field: 'email', column: 'u.email', type: 'string' },
  ],
  defaultSort: '-createdAt',
});

export interface UserListFilters {
  statuses?: UserStatus[];
  /** Path of the department whose subtree to show; null when the requested department does not exist. */
  departmentPath?: string | null;
  roleId?: string;
  q?: string;
}

/** The queries of user administration; every one is confined to one organization. */
@Injectable()
export class UsersAdminRepository {
  constructor(
    @InjectRepository(User) private readonly users: Repository<User>,
    private readonly permissions: PermissionService,
  ) {}

  private repo(manager?: EntityManager): Repository<User> {
    return manager ? manager.getRepository(User) : this.users;
  }

  /** One page of the organization's users in `scope`, filtered; rows are entities (secrets never selected). */
  list(
    organizationId: string,
    scope: ReadableDepartments,
    filters: UserListFilters,
    page: PageRequest,
  ): Promise<User[]> {
    const readable = this.permissions.readableCondition(scope, 'u.department_id');
    const qb = this.users
      .createQueryBuilder('u')
      .where('u.organization_id = :organizationId', { organizationId })
      .andWhere(readable.sql, readable.params);
    if (filters.statuses?.length) qb.andWhere('u.status IN (:...statuses)', { statuses: filters.statuses });
    if (filters.departmentPath === null) qb.andWhere('FALSE');
    else if (filters.departmentPath !== undefined) {
      qb.andWhere(
        `u.department_id IN (SELECT fd.id FROM departments fd
          WHERE fd.organization_id = :organizationId AND fd.path LIKE :subtree ESCAPE '\\')`,
        { subtree: `${escapeLike(filters.departmentPath)}%` },
      );
    }
    if (filters.roleId) {
      qb.andWhere('EXISTS (SELECT 1 FROM role_assignments ra WHERE ra.user_id = u.id AND ra.role_id = :roleId)', {
        roleId: filters.roleId,
      });
    }
    if (filters.q) {
      qb.andWhere(`(u.name ILIKE :q ESCAPE '\\' OR u.email::text ILIKE :q ESCAPE '\\')`, {
        q: `%${escapeLike(filters.q)}%`,
      });
    }
    return applyKeysetPage(qb, page).getMany();
  }

  /** `lock` takes a row lock for read-modify-write inside a transaction. */
  findInOrganization(organizationId: string, id: string, manager?: EntityManager, lock = false): Promise<User | null> {
    const qb = this.repo(manager)
      .createQueryBuilder('u')
      .where('u.id = :id AND u.organization_id = :organizationId', { id, organizationId });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async hasPassword(id: string, manager?: EntityManager): Promise<boolean> {
    const rows = await this.repo(manager).query<unknown[]>(
      'SELECT 1 FROM users WHERE id = $1 AND password_hash IS NOT NULL',
      [id],
    );
    return rows.length > 0;
  }
}
