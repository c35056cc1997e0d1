import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, ObjectLiteral, Repository, SelectQueryBuilder } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { bindPageQuery, compilePageQuery, PageQueryCache } from '../../core/pagination/compiled-page-query';
import { applyKeysetPage, keysetParameters, type PageRequest } from '../../core/pagination/keyset';
import { defineList, type ListSpec } from '../../core/pagination/sort';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import { Customer, type CustomerStatus } from './customer.entity';
import type { TagMode } from './customer.dto';
import { escapeLike } from '../../core/database/like-pattern';

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

/** The words of `q` as the GIN index on search_tsv matches them; tsquery operators in `q` are plain text here. */
const WORDS = "plainto_tsquery('simple', :searchQ)";

/**
 * Relevance of a customer containing every word of `q`: ts_rank (how often the words occur in its text),
 * plus 1 when the whole name is `q`, so "ada lovelace" puts Ada Lovelace before the Ada Lovelace
 * Institute. float4, which survives the cursor round trip exactly.
 */
export const WORD_RANK = `ts_rank(c.search_tsv, ${WORDS}) + (lower(c.name) = :searchQ)::int::real`;

/**
 * The typo-tolerant relevance: how well `q` matches some part of name/email/company/phone (word similarity,
 * what the trigram index filters on), plus how close the whole name is to `q`. At most 2.
 */
export const SIMILARITY_RANK = 'word_similarity(:searchQ, c.search) + similarity(:searchQ, lower(c.name))';

/**
 * The fallback ranking: rows with every word of `q` first, in WORD_RANK order (lifted above 2, the most
 * SIMILARITY_RANK can be), then the rest by SIMILARITY_RANK. float8, so adding 4 keeps every bit of the
 * float4 word rank, and float8 also survives the cursor round trip exactly.
 */
export const FALLBACK_RANK = `CASE WHEN c.search_tsv @@ ${WORDS} THEN 4 + (${WORD_RANK})::float8 ELSE (${SIMILARITY_RANK})::float8 END`;

/**
 * How a search matches. `words`: customers containing every word of `q`, served by the GIN index on
 * search_tsv (about 5,000 rows to rank for a common last name on 1M customers). `similar`: those plus
 * customers whose text is trigram-similar to `q` (typos, partial words), served by the trigram index, which
 * yields ~20,000 candidates for the same name, each fetched and re-ranked; so it runs only when `words` finds
 * nothing.
 */
export type SearchMode = 'words' | 'similar';

/** GET /customers?q=, each mode its own list, so a cursor says which mode its page 2 continues. */
export const CUSTOMER_SEARCH: Readonly<Record<SearchMode, ListSpec>> = {
  words: defineList({
    scope: 'customers-words',
    idColumn: 'c.id',
    sorts: [{ field: 'rank', column: WORD_RANK, type: 'number' }],
    defaultSort: '-rank',
  }),
  similar: defineList({
    scope: 'customers-similar',
    idColumn: 'c.id',
    sorts: [{ field: 'rank', column: FALLBACK_RANK, type: 'number' }],
    defaultSort: '-rank',
  }),
};

const MATCH: Record<SearchMode, string> = {
  words: `c.search_tsv @@ ${WORDS}`,
  // <% (word similarity above pg_trgm.word_similarity_threshold, 0.6) is what the trigram index serves.
  similar: `(c.search_tsv @@ ${WORDS} OR :searchQ <% c.search)`,
};

/**
 * The columns of a customer as the API shows it (CustomerDto), aliased to its property names: pages are
 * read as raw rows, without building an entity per row first.
 */
const DTO_COLUMNS: readonly (readonly [string, keyof CustomerRow])[] = [
  ['c.id', 'id'],
  ['c.name', 'name'],
  ['c.email', 'email'],
  ['c.phone', 'phone'],
  ['c.company', 'company'],
  ['c.status', 'status'],
  ['c.tags', 'tags'],
  ['c.owner_id', 'ownerId'],
  ['c.department_id', 'departmentId'],
  ['c.custom_fields', 'customFields'],
  ['c.version', 'version'],
  ['c.created_at', 'createdAt'],
  ['c.updated_at', 'updatedAt'],
];

/** A customer row of a list page: the fields of CustomerDto, as the driver returns them. */
export type CustomerRow = Omit<Customer, 'organizationId' | 'deletedAt'>;

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
  /** Lower-cased search text: the list is then a search (CustomersRepository.search). */
  q?: string;
}

/** A customer row of a search page, with the rank its cursor continues from. */
export interface RankedCustomer extends CustomerRow {
  rank: number;
}

/** One condition of a customer list's WHERE, with the named parameters it uses. */
export interface CustomerCondition {
  sql: string;
  params?: Record<string, unknown>;
}

/**
 * The conditions confining a list to the organization's live customers in the readable departments, then
 * `filters`, in the order they are ANDed. The SQL of each is one of a fixed set of texts (values are always
 * parameters), which is what lets CustomersRepository.list key its compiled queries on them.
 */
export function customerConditions(
  organizationId: string,
  readable: { sql: string; params: Record<string, unknown> },
  filters: CustomerFilters,
): CustomerCondition[] {
  const conditions: CustomerCondition[] = [
    { sql: 'c.organization_id = :organizationId', params: { organizationId } },
    { sql: 'c.deleted_at IS NULL' },
    { sql: readable.sql, params: readable.params },
  ];
  if (filters.statuses?.length) {
    conditions.push({ sql: 'c.status IN (:...statuses)', params: { statuses: filters.statuses } });
  }
  if (filters.ownerId) conditions.push({ sql: 'c.owner_id = :ownerId', params: { ownerId: filters.ownerId } });
  if (filters.departmentPath === null) conditions.push({ sql: 'FALSE' });
  else if (filters.departmentPath !== undefined) {
    conditions.push({
      sql: `c.department_id IN (SELECT fd.id FROM departments fd
        WHERE fd.organization_id = :organizationId AND fd.path LIKE :subtree ESCAPE '\\')`,
      params: { subtree: `${escapeLike(filters.departmentPath)}%` },
    });
  }
  if (filters.tags?.length) {
    // && (overlap) and @> (contains) are what the GIN index on tags serves.
    const operator = filters.tagMode === 'all' ? '@>' : '&&';
    conditions.push({ sql: `c.tags ${operator} :tags::text[]`, params: { tags: filters.tags } });
  }
  if (filters.createdFrom) {
    conditions.push({ sql: 'c.created_at >= :createdFrom', params: { createdFrom: filters.createdFrom } });
  }
  if (filters.createdTo) {
    conditions.push({ sql: 'c.created_at < :createdTo', params: { createdTo: filters.createdTo } });
  }
  return conditions;
}

/**
 * Confines `qb` (customers aliased `c`) to the organization's live customers in the readable departments,
 * then applies `filters` (customerConditions).
 */
export function applyCustomerFilters<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  organizationId: string,
  readable: { sql: string; params: Record<string, unknown> },
  filters: CustomerFilters,
): SelectQueryBuilder<T> {
  return whereAll(qb, customerConditions(organizationId, readable, filters));
}

/** `qb` with every condition ANDed, in order, as its WHERE. */
function whereAll<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  conditions: readonly CustomerCondition[],
): SelectQueryBuilder<T> {
  const [first, ...rest] = conditions;
  qb.where(first.sql, first.params);
  for (const condition of rest) qb.andWhere(condition.sql, condition.params);
  return qb;
}

/** The cursor position's parameters in a compiled list query; no condition uses these names. */
const KEYSET_PARAMETERS = { value: 'keysetValue', id: 'keysetId' } as const;

/**
 * What makes two list requests the same SQL: the text of their conditions, how many values each `:...` list
 * spreads into, and the sort, direction and whether a cursor continues it. Values never enter it.
 */
function listShape(conditions: readonly CustomerCondition[], page: PageRequest): string {
  let shape = `${page.sort.column}\u0000${page.direction}\u0000${page.after ? 'after' : 'first'}\u0000${page.idColumn}`;
  for (const condition of conditions) {
    shape += `\u0000${condition.sql}`;
    if (condition.params && condition.sql.includes(':...')) {
      for (const [name, value] of Object.entries(condition.params)) {
        if (Array.isArray(value)) shape += `\u0001${name}#${value.length}`;
      }
    }
  }
  return shape;
}

/**
 * The queries of customers. Every one is confined to one organization; lists also to the readable
 * departments and to customers that are not deleted.
 */
@Injectable()
export class CustomersRepository {
  /** Compiled list queries by shape (listShape). */
  private readonly listQueries = new PageQueryCache();

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
    filters: CustomerFilters,
    page: PageRequest,
  ): Promise<CustomerRow[]> {
    const readable = this.permissions.readableCondition(scope, 'c.department_id');
    const conditions = customerConditions(organizationId, readable, filters);
    const shape = listShape(conditions, page);
    let compiled = this.listQueries.get(shape);
    if (compiled === undefined) {
      compiled = compilePageQuery(this.listQuery(conditions, page), page.limit + 1) ?? null;
      this.listQueries.set(shape, compiled);
    }
    if (compiled === null) return this.listQuery(conditions, page).getRawMany<CustomerRow>();
    const parameters: Record<string, unknown> = keysetParameters(page, KEYSET_PARAMETERS);
    for (const condition of conditions) Object.assign(parameters, condition.params);
    const [sql, values] = bindPageQuery(compiled, parameters, page.limit + 1);
    return this.customers.query<CustomerRow[]>(sql, values);
  }

  /**
   * The list's query builder: compiled once per shape by `list` (TypeORM's query building was a tenth of a
   * list request's CPU), and the reference the compiled SQL must equal.
   */
  listQuery(conditions: readonly CustomerCondition[], page: PageRequest): SelectQueryBuilder<Customer> {
    return applyKeysetPage(whereAll(this.selectDtoColumns(), conditions), page, KEYSET_PARAMETERS);
  }

  /**
   * One page of a search (`page` of CUSTOMER_SEARCH[mode]): best match first, then id. The department
   * scope and filters apply as in `list`.
   */
  async search(
    organizationId: string,
    scope: ReadableDepartments,
    filters: CustomerFilters & { q: string },
    mode: SearchMode,
    page: PageRequest,
  ): Promise<RankedCustomer[]> {
    const qb = this.filtered(organizationId, scope, filters)
      .andWhere(MATCH[mode], { searchQ: filters.q })
      .addSelect(page.sort.column, 'rank');
    const rows = await applyKeysetPage(qb, page).getRawMany<RankedCustomer>();
    // float4 and float8 both arrive as JS numbers; anything else is a bug the cursor must not carry.
    for (const row of rows) row.rank = Number(row.rank);
    return rows;
  }

  private filtered(
    organizationId: string,
    scope: ReadableDepartments,
    filters: CustomerFilters,
  ): SelectQueryBuilder<Customer> {
    const readable = this.permissions.readableCondition(scope, 'c.department_id');
    return applyCustomerFilters(this.selectDtoColumns(), organizationId, readable, filters);
  }

  private selectDtoColumns(): SelectQueryBuilder<Customer> {
    const qb = this.customers.createQueryBuilder('c').select(DTO_COLUMNS[0][0], DTO_COLUMNS[0][1]);
    for (const [column, alias] of DTO_COLUMNS.slice(1)) qb.addSelect(column, alias);
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

  async userExists(organizationId: string, userId: string, manager?: EntityManager): Promise<boolean> {
    const rows = await this.repo(manager).query<unknown[]>(
      'SELECT 1 FROM users WHERE id = $1 AND organization_id = $2',
      [userId, organizationId],
    );
    return rows.length > 0;
  }
}
