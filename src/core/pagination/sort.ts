import { ValidationException } from '../exceptions/app.exception';

export type SortDirection = 'asc' | 'desc';

/**
 * How a sort key is carried in a cursor: dates travel as ISO strings and come back as Dates. `number` is for
 * columns the driver returns as JS numbers (int2, int4, float8); bigint and numeric arrive as strings, so
 * declare them `string` (PostgreSQL still compares them as numbers: the parameter takes the column's type).
 */
export type SortType = 'date' | 'string' | 'number';

export type SortValue = string | number | Date;

/**
 * One whitelisted `?sort=` field. The column must be NOT NULL (row comparison treats NULL as unknown, so
 * rows would vanish from later pages); a nullable column needs a COALESCE expression here instead.
 * Date columns must be `timestamptz(3)`: a cursor carries a JS Date (milliseconds), and microseconds in the
 * column would make the cursor sort before its own row, repeating or skipping rows at page boundaries.
 */
export interface SortSpec {
  /** Name in `?sort=` and, by default, the property of a fetched row that holds the value. */
  field: string;
  /** SQL expression in the list query, e.g. `c.created_at`. Never built from client input. */
  column: string;
  type: SortType;
}

/** A paginated list: what it is called in its cursors, how it may be sorted, and its tie-breaker. */
export interface ListSpec {
  /** Names the list inside its cursors, so a cursor from another list is refused, e.g. `customers`. */
  scope: string;
  /** The unique tie-breaker (the uuid primary key), e.g. `c.id`; the index to add is (column, id). */
  idColumn: string;
  sorts: readonly SortSpec[];
  /** Used when `?sort=` is absent, in the same notation, e.g. `-createdAt`. */
  defaultSort: string;
}

export interface ParsedSort {
  spec: SortSpec;
  direction: SortDirection;
}

const FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** Checks a list's definition once, where it is declared, so a typo fails at startup rather than per request. */
export function defineList(list: ListSpec): ListSpec {
  if (!list.scope) throw new Error('ListSpec.scope must not be empty');
  if (list.sorts.length === 0) throw new Error(`ListSpec ${list.scope} must whitelist at least one sort`);
  const seen = new Set<string>();
  for (const spec of list.sorts) {
    if (!FIELD_NAME.test(spec.field))
      throw new Error(`ListSpec ${list.scope}: invalid sort field name "${spec.field}"`);
    if (seen.has(spec.field)) throw new Error(`ListSpec ${list.scope}: sort field "${spec.field}" is listed twice`);
    seen.add(spec.field);
  }
  const frozen = Object.freeze({ ...list, sorts: Object.freeze(list.sorts.map((spec) => Object.freeze({ ...spec }))) });
  if (!findSort(list.defaultSort, frozen)) {
    throw new Error(`ListSpec ${list.scope}: defaultSort "${list.defaultSort}" is not one of its sorts`);
  }
  return frozen;
}

/** Every accepted `?sort=` value of a list, ascending and descending (for messages and OpenAPI enums). */
export function sortParamValues(list: ListSpec): string[] {
  return list.sorts.flatMap((spec) => [spec.field, `-${spec.field}`]);
}

function findSort(raw: string, list: ListSpec): ParsedSort | undefined {
  const direction: SortDirection = raw.startsWith('-') ? 'desc' : 'asc';
  const field = direction === 'desc' ? raw.slice(1) : raw;
  const spec = list.sorts.find((candidate) => candidate.field === field);
  return spec && { spec, direction };
}

/** `createdAt` sorts ascending, `-createdAt` descending; absent means the list's default. */
export function parseSort(raw: string | undefined, list: ListSpec): ParsedSort {
  const parsed = findSort(raw ?? list.defaultSort, list);
  if (!parsed) {
    throw new ValidationException([
      { field: 'sort', message: `sort must be one of: ${sortParamValues(list).join(', ')}` },
    ]);
  }
  return parsed;
}
