import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';
import type { CursorPayload } from './cursor.codec';
import type { Page } from './page.dto';
import type { SortDirection, SortSpec, SortValue } from './sort';

/** The last row of the previous page: its sort key and id. */
export interface KeysetPosition {
  value: SortValue;
  id: string;
}

export interface KeysetPageOptions {
  sort: SortSpec;
  direction: SortDirection;
  /** Absent on the first page. */
  after?: KeysetPosition;
  limit: number;
  /** SQL expression of the unique tie-breaker, e.g. `c.id`. */
  idColumn: string;
}

/** Everything one page of one list needs; built from the query by `Paginator.resolve`. */
export interface PageRequest extends KeysetPageOptions {
  /** The cursor scope: the list's name, possibly narrowed (e.g. `notes:<customerId>`). */
  scope: string;
}

/** How to read a fetched row's position; by default `row[sort.field]` and `row.id`. */
export interface RowKey<T> {
  sortValue?: (row: T) => SortValue;
  id?: (row: T) => string;
}

/**
 * Names for the cursor position's two parameters, for a query compiled once and bound per request
 * (compiled-page-query.ts); the caller keeps them apart from its own parameter names.
 */
export interface KeysetParameterNames {
  value: string;
  id: string;
}

/** The cursor position of `options` under `names`, as `applyKeysetPage(qb, options, names)` binds it. */
export function keysetParameters(options: KeysetPageOptions, names: KeysetParameterNames): Record<string, unknown> {
  return options.after ? { [names.value]: options.after.value, [names.id]: options.after.id } : {};
}

// Unique per call, so several keyset conditions (or the caller's own `:value`) never share a parameter name.
let parameterSequence = 0;

/**
 * Orders `qb` by (sort column, id), continues after the cursor's position, and limits it to `limit + 1`
 * rows (the extra row only says whether there is a next page). Replaces any ORDER BY and LIMIT already set;
 * keeps every WHERE. The condition is a row comparison, `(col, id) > (:v, :id)` (`<` descending), which a
 * composite index on (col, id) serves for both directions.
 *
 * Apply it after the list's filters: a later `.where()` would replace the cursor condition. LIMIT counts SQL
 * rows, so the query must not join to-many relations (load those by id afterwards).
 */
export function applyKeysetPage<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  options: KeysetPageOptions,
  parameterNames?: KeysetParameterNames,
): SelectQueryBuilder<T> {
  const order = options.direction === 'asc' ? 'ASC' : 'DESC';
  qb.orderBy(options.sort.column, order).addOrderBy(options.idColumn, order);

  if (options.after) {
    // TypeORM joins WHERE clauses with bare AND/OR (isolateWhereStatements is off), so a caller's
    // `a OR b` would otherwise bind as `a OR (b AND keyset)`; bracket what is there before adding ours.
    const existing = qb.expressionMap.wheres;
    if (existing.length > 0) {
      qb.expressionMap.wheres = [{ type: 'simple', condition: { operator: 'brackets', condition: existing } }];
    }
    let value: string;
    let id: string;
    if (parameterNames) ({ value, id } = parameterNames);
    else {
      parameterSequence = (parameterSequence + 1) % Number.MAX_SAFE_INTEGER;
      value = `keyset_value_${parameterSequence}`;
      id = `keyset_id_${parameterSequence}`;
    }
    const operator = options.direction === 'asc' ? '>' : '<';
    qb.andWhere(`(${options.sort.column}, ${options.idColumn}) ${operator} (:${value}, :${id})`, {
      [value]: options.after.value,
      [id]: options.after.id,
    });
  }
  return qb.limit(options.limit + 1);
}

/**
 * Turns the rows fetched by `applyKeysetPage` into a page; `nextCursor` holds the last returned row's
 * position, and is null once there is nothing more.
 */
export function toPage<T>(
  rows: readonly T[],
  request: PageRequest,
  codec: { encode(payload: CursorPayload): string },
  key: RowKey<T> = {},
): Page<T> {
  const hasMore = rows.length > request.limit;
  const data = hasMore ? rows.slice(0, request.limit) : [...rows];
  const last = data.at(-1);
  const nextCursor =
    hasMore && last !== undefined
      ? codec.encode({
          scope: request.scope,
          field: request.sort.field,
          direction: request.direction,
          value: checkedSortValue(
            key.sortValue ? key.sortValue(last) : readProperty(last, request.sort.field),
            request.sort,
          ),
          id: checkedId(key.id ? key.id(last) : readProperty(last, 'id')),
        })
      : null;
  return { data, page: { limit: request.limit, nextCursor, hasMore } };
}

function readProperty(row: unknown, property: string): unknown {
  return typeof row === 'object' && row !== null ? (row as Record<string, unknown>)[property] : undefined;
}

// A wrong type here is a bug in the list's code (say, a raw query aliasing the column differently); failing
// loudly beats a cursor that would decode as foreign or sort differently in SQL.
function checkedSortValue(value: unknown, sort: SortSpec): SortValue {
  const ok =
    sort.type === 'date'
      ? value instanceof Date && !Number.isNaN(value.getTime())
      : typeof value === sort.type && (sort.type !== 'number' || Number.isFinite(value));
  if (!ok) {
    const got = value === null ? 'null' : value instanceof Date ? 'Invalid Date' : typeof value;
    throw new Error(
      `Sort "${sort.field}" expects a ${sort.type} on every row, got ${got}; check the row property or pass RowKey.sortValue`,
    );
  }
  return value as SortValue;
}

function checkedId(value: unknown): string {
  if (typeof value !== 'string') {
    throw new Error(`Keyset rows need a string id, got ${value === null ? 'null' : typeof value}; pass RowKey.id`);
  }
  return value;
}
