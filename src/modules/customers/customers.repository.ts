import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, ObjectLiteral, Repository, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { applyKeysetPage, type PageRequest } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import { Customer, type CustomerStatus } from './customer.entity';
import type { TagMode } from './customer.dto';

/**
 * GET /customers: every sort is served by a partial index (organization_id, column, id) WHERE deleted_at IS
 * NULL, in both directions, so a page costs the same at any depth.
 */
export const CUSTOMER_LIST = defineList({
  scope: 'customers',
  idColumn: 'c.id',
  sorts: [
    { field: 'createdAt', column: 'c.created_at', type: 'date' },
    { field: 'updatedAt', column: 'c.updated_at', type: 'date' },
    { field: 'name', column: 'c.name', type: 'string' },
  ],
  defaultSort: '-createdAt',
});

/**
 * The relevance of a customer to `q` (lower-cased): how well q matches some part of name/email/company/phone
 * (word similarity, what the trigram index filters on), plus how close the whole name is to q, so an exact
 * name beats a name that merely contains it. float4, which survives the cursor round trip exactly.
 */
export const SEARCH_RANK = 'word_similarity(:searchQ, c.search) + similarity(:searchQ, lower(c.name))';

/** GET /customers?q=: ranked, best first; the cursor carries (rank, id). */
export const CUSTOMER_SEARCH = defineList({
  scope: 'customers-search',
  idColumn: 'c.id',
  sorts: [{ field: 'rank', column: SEARCH_RANK, type: 'number' }],
  defaultSort: '-rank',
});

/** The filters GET /customers and GET /customers/export share (see applyCustomerFilters). */
export interface CustomerFilters {
  statuses?: CustomerStatus[];
  ownerId?: string;
  /** Path of the department whose subtree to show; null when the requested department does not exist. */
  departmentPath?: string | null;
  tags?: string[];
  tagMode?: TagMode;
  createdFrom?: Date;
  createdTo?: Date;
}

export interface CustomerListFilters extends CustomerFilters {
  /** Lower-cased search text; the page request must then be one of CUSTOMER_SEARCH. */
  q?: string;
}

/** A customer row of a search page, with the rank its cursor continues from. */
export interface RankedCustomer {
  customer: Customer;
  rank: number;
}

/** `%`, `_` and the escape character itself match literally. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (char) => `\\${char}`);
}

/**
 * Confines `qb` (customers aliased `c`) to the organization's live customers in the readable departments,
 * then applies `filters`.
 */
export function applyCustomerFilters<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  organizationId: string,
  readable: { sql: string; params: Record<string, unknown> },
  filters: CustomerFilters,
): SelectQueryBuilder<T> {
  qb.where('c.organization_id = :organizationId', { organizationId })
    .andWhere('c.deleted_at IS NULL')
    .andWhere(readable.sql, readable.params);
  if (filters.statuses?.length) qb.andWhere('c.status IN (:...statuses)', { statuses: filters.statuses });
  if (filters.ownerId) qb.andWhere('c.owner_id = :ownerId', { ownerId: filters.ownerId });
  if (filters.departmentPath === null) qb.andWhere('FALSE');
  else if (filters.departmentPath !== undefined) {
    qb.andWhere(
      `c.department_id IN (SELECT fd.id FROM departments fd
        WHERE fd.organization_id = :organizationId AND fd.path LIKE :subtree ESCAPE '\\')`,
      { subtree: `${escapeLike(filters.departmentPath)}%` },
    );
  }
  if (filters.tags?.length) {
    // && (overlap) and @> (contains) are what the GIN index on tags serves.
    const operator = filters.tagMode === 'all' ? '@>' : '&&';
    qb.andWhere(`c.tags ${operator} :tags::text[]`, { tags: filters.tags });
  }
  if (filters.createdFrom) qb.andWhere('c.created_at >= :createdFrom', { createdFrom: filters.createdFrom });
  if (filters.createdTo) qb.andWhere('c.created_at < :createdTo', { createdTo: filters.createdTo });
  return qb;
}

/**
 * The queries of customers. Every one is confined to one organization; lists also to the readable
 * departments and to customers that are not deleted.
 */
@Injectable()
export class CustomersRepository {
  constructor(
    @InjectRepository(Customer) private readonly customers: Repository<Customer>,
    private readonly permissions: PermissionService,
  ) {}

  private repo(manager?: EntityManager): Repository<Customer> {
    return manager ? manager.getRepository(Customer) : this.customers;
  }

  /** One page of live customers in `scope`, filtered, in the request's sort order. */
  list(
    organizationId: string,
    scope: ReadableDepartments,
    filters: CustomerListFilters,
    page: PageRequest,
  ): Promise<Customer[]> {
    return applyKeysetPage(this.filtered(organizationId, scope, filters), page).getMany();
  }

  /** One page of a search (`filters.q` set, `page` of CUSTOMER_SEARCH): best match first, then id. */
  async search(
    organizationId: string,
    scope: ReadableDepartments,
    filters: CustomerListFilters & { q: string },
    page: PageRequest,
  ): Promise<RankedCustomer[]> {
    const qb = this.filtered(organizationId, scope, filters).addSelect(SEARCH_RANK, 'rank');
    const { raw, entities } = await applyKeysetPage(qb, page).getRawAndEntities<{ rank: number }>();
    // No joins, so raw rows and entities correspond one to one, in order.
    return entities.map((customer, index) => ({ customer, rank: Number(raw[index]?.rank) }));
  }

  private filtered(
    organizationId: string,
    scope: ReadableDepartments,
    filters: CustomerListFilters,
  ): SelectQueryBuilder<Customer> {
    const readable = this.permissions.readableCondition(scope, 'c.department_id');
    const qb = applyCustomerFilters(this.customers.createQueryBuilder('c'), organizationId, readable, filters);
    // <% (word similarity above pg_trgm.word_similarity_threshold, 0.6) is what the trigram index serves.
    if (filters.q !== undefined) qb.andWhere(':searchQ <% c.search', { searchQ: filters.q });
    return qb;
  }

  /**
   * A customer of the organization by id; deleted ones only with `includeDeleted`. `lock` takes a row lock
   * for read-modify-write inside a transaction.
   */
  findInOrganization(
    organizationId: string,
    id: string,
    options: { manager?: EntityManager; lock?: boolean; includeDeleted?: boolean } = {},
  ): Promise<Customer | null> {
    const qb = this.repo(options.manager)
      .createQueryBuilder('c')
      .where('c.id = :id AND c.organization_id = :organizationId', { id, organizationId });
    if (!options.includeDeleted) qb.andWhere('c.deleted_at IS NULL');
    if (options.lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async insert(customer: Customer, manager: EntityManager): Promise<void> {
    // Custom fields are a jsonb value, not a relation: TypeORM's deep-partial typing does not know that.
    await manager.getRepository(Customer).insert(customer as QueryDeepPartialEntity<Customer>);
  }

  /** Applies `changes`, bumps the version and updated_at; returns the row as stored. */
  async update(
    customer: Customer,
    changes: Partial<Omit<Customer, 'id' | 'organizationId' | 'version' | 'createdAt' | 'updatedAt'>>,
    manager: EntityManager,
  ): Promise<Customer> {
    await manager
      .getRepository(Customer)
      .createQueryBuilder()
      .update(Customer)
      .set({
        ...(changes as QueryDeepPartialEntity<Customer>),
        version: () => 'version + 1',
        updatedAt: () => 'now()',
      })
      .where('id = :id AND organization_id = :organizationId', {
        id: customer.id,
        organizationId: customer.organizationId,
      })
      .execute();
    const stored = await this.findInOrganization(customer.organizationId, customer.id, {
      manager,
      includeDeleted: true,
    });
    if (!stored) throw new Error(`customer ${customer.id} vanished inside its own transaction`);
    return stored;
  }

  /** The department's materialized path, or null when the organization has no such department. */
  async departmentPath(organizationId: string, departmentId: string): Promise<string | null> {
    const rows = await this.customers.query<{ path: string }[]>(
      'SELECT path FROM departments WHERE id = $1 AND organization_id = $2',
      [departmentId, organizationId],
    );
    return rows[0]?.path ?? null;
  }

  async userExists(organizationId: string, userId: string, manager?: EntityManager): Promise<boolean> {
    const rows = await this.repo(manager).query<unknown[]>(
      'SELECT 1 FROM users WHERE id = $1 AND organization_id = $2',
      [userId, organizationId],
    );
    return rows.length > 0;
  }
}
