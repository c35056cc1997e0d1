import { DataSource, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import type { CursorPayload } from './cursor.codec';
import { applyKeysetPage, toPage, type PageRequest } from './keyset';
import type { SortSpec } from './sort';

const ID_A = '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88';
const ID_B = '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c89';
const CREATED: SortSpec = { field: 'createdAt', column: 't.created_at', type: 'date' };

// Never connected: the driver is only needed to render SQL.
const dataSource = new DataSource({ type: 'postgres', url: 'postgres://nobody@127.0.0.1:1/never' });

function items(): SelectQueryBuilder<ObjectLiteral> {
  return dataSource.createQueryBuilder().select('t.id', 'id').from('items', 't');
}

function request(overrides: Partial<PageRequest> = {}): PageRequest {
  return { scope: 'items', sort: CREATED, direction: 'asc', limit: 2, idColumn: 't.id', ...overrides };
}

/** Records what would be encoded instead of signing it. */
const recorder = { encode: (payload: CursorPayload): string => JSON.stringify(payload) };

describe(applyKeysetPage.name, () => {
  it('should order by the sort column then id and fetch one extra row when there is no cursor', () => {
    const [sql, parameters] = applyKeysetPage(
      items(),
      request({ direction: 'desc', limit: 20 }),
    ).getQueryAndParameters();
    expect(sql).toBe('SELECT t.id AS "id" FROM "items" "t" ORDER BY t.created_at DESC, t.id DESC LIMIT 21');
    expect(parameters).toEqual([]);
  });

  it.each([
    ['asc', '>', 'ASC'],
    ['desc', '<', 'DESC'],
  ] as const)('should continue with a row comparison when the direction is %s', (direction, operator, order) => {
    const after = { value: new Date('2025-01-01T00:00:00.000Z'), id: ID_A };
    const [sql, parameters] = applyKeysetPage(items(), request({ direction, after })).getQueryAndParameters();
    expect(sql).toBe(
      `SELECT t.id AS "id" FROM "items" "t" WHERE (t.created_at, t.id) ${operator} ($1, $2) ` +
        `ORDER BY t.created_at ${order}, t.id ${order} LIMIT 3`,
    );
    expect(parameters).toEqual([after.value, ID_A]);
  });

  it('should bracket the existing conditions when they contain a top-level OR', () => {
    const qb = items().where('t.a = :a OR t.b = :a', { a: 1 }).orWhere('t.c = 2');
    const [sql] = applyKeysetPage(qb, request({ after: { value: new Date(0), id: ID_A } })).getQueryAndParameters();
    expect(sql).toContain('WHERE (t.a = $1 OR t.b = $1 OR t.c = 2) AND (t.created_at, t.id) > ($2, $3)');
  });

  it('should not collide with parameters of the same name when composed twice', () => {
    const qb = items().where('t.kind = :value', { value: 'x' });
    applyKeysetPage(qb, request({ after: { value: new Date(0), id: ID_A } }));
    applyKeysetPage(qb, request({ after: { value: new Date(1), id: ID_B } }));
    const [, parameters] = qb.getQueryAndParameters();
    expect(parameters).toEqual(['x', new Date(0), ID_A, new Date(1), ID_B]);
  });

  it('should replace an ORDER BY and LIMIT set before when it is applied', () => {
    const qb = items().orderBy('t.name', 'ASC').limit(500);
    const [sql] = applyKeysetPage(qb, request()).getQueryAndParameters();
    expect(sql).toBe('SELECT t.id AS "id" FROM "items" "t" ORDER BY t.created_at ASC, t.id ASC LIMIT 3');
  });
});

describe(toPage.name, () => {
  const rows = [
    { id: ID_A, createdAt: new Date('2025-01-01T00:00:00.001Z') },
    { id: ID_B, createdAt: new Date('2025-01-01T00:00:00.002Z') },
    { id: ID_B, createdAt: new Date('2025-01-01T00:00:00.003Z') },
  ];

  it('should drop the extra row and point the cursor at the last returned row when there are more', () => {
    const page = toPage(rows, request({ limit: 2 }), recorder);
    expect(page.data).toEqual(rows.slice(0, 2));
    expect(page.page.hasMore).toBe(true);
    expect(page.page.limit).toBe(2);
    expect(JSON.parse(page.page.nextCursor ?? '')).toEqual({
      scope: 'items',
      field: 'createdAt',
      direction: 'asc',
      value: '2025-01-01T00:00:00.002Z',
      id: ID_B,
    });
  });

  it.each([3, 4])('should end the list with a null cursor when at most limit rows came back (limit %p)', (limit) => {
    expect(toPage(rows, request({ limit }), recorder).page).toEqual({ limit, nextCursor: null, hasMore: false });
  });

  it('should return an empty page when no rows came back', () => {
    expect(toPage([], request(), recorder)).toEqual({ data: [], page: { limit: 2, nextCursor: null, hasMore: false } });
  });

  it('should read the position through accessors when they are given', () => {
    const raw = [
      { key: 'k1', value: 'b' },
      { key: 'k2', value: 'c' },
    ];
    const sort: SortSpec = { field: 'name', column: 't.name', type: 'string' };
    const page = toPage(raw, request({ sort, limit: 1 }), recorder, { sortValue: (row) => row.value, id: () => ID_A });
    expect(JSON.parse(page.page.nextCursor ?? '')).toMatchObject({ value: 'b', id: ID_A });
  });

  it.each([
    ['a string for a date sort', { id: ID_A, createdAt: '2025-01-01' }, 'expects a date'],
    ['null for the sort key', { id: ID_A, createdAt: null }, 'got null'],
    ['a missing id', { createdAt: new Date(0) }, 'string id'],
  ])('should throw a programming error when a row has %s', (_label, row, message) => {
    expect(() => toPage([row, row], request({ limit: 1 }), recorder)).toThrow(message);
  });
});
