import { Controller, Get, Module, Query } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { IsOptional, IsString } from 'class-validator';
import { randomBytes } from 'node:crypto';
import { Column, DataSource, Entity, PrimaryColumn, type ObjectLiteral, type SelectQueryBuilder } from 'typeorm';
import { Public } from '../src/core/http/public.decorator';
import { createApiApp } from '../src/api-app';
import { CursorCodec } from '../src/core/pagination/cursor.codec';
import { applyKeysetPage } from '../src/core/pagination/keyset';
import type { Page } from '../src/core/pagination/page.dto';
import { PageLimits } from '../src/core/pagination/page-limits';
import { PageQueryDto } from '../src/core/pagination/page-query.dto';
import { PaginationModule } from '../src/core/pagination/pagination.module';
import { Paginator } from '../src/core/pagination/paginator';
import { defineList, sortParamValues, type SortDirection } from '../src/core/pagination/sort';
import { expectProblem } from './helpers/problem';
import { testConfig } from './helpers/test-app';

interface Row {
  id: string;
  name: string;
  score: number;
  createdAt: Date;
}

const TABLE = `pagination_e2e_${randomBytes(4).toString('hex')}`;
const COLUMN_OF = { createdAt: 'created_at', name: 'name', score: 'score' } as const;

/** The same table as an entity, for lists that page entities with getMany (sort columns as property paths). */
@Entity(TABLE)
class Item {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  @Column('int')
  score: number;

  @Column({ name: 'created_at', type: 'timestamptz', precision: 3 })
  createdAt: Date;
}

const ENTITY_LIST = defineList({
  scope: 'pagination-e2e',
  idColumn: 'i.id',
  sorts: [
    { field: 'createdAt', column: 'i.createdAt', type: 'date' },
    { field: 'name', column: 'i.name', type: 'string' },
    { field: 'score', column: 'i.score', type: 'number' },
  ],
  defaultSort: '-createdAt',
});

const LIST = defineList({
  scope: 'pagination-e2e',
  idColumn: 't.id',
  sorts: [
    { field: 'createdAt', column: 't.created_at', type: 'date' },
    { field: 'name', column: 't.name', type: 'string' },
    { field: 'score', column: 't.score', type: 'number' },
  ],
  defaultSort: '-createdAt',
});

/** Deterministic PRNG (mulberry32), so a failing seed can be replayed. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)];
}

/** A uuid from the PRNG; any uuid must work as the tie-breaker, not only time-ordered v7 ones. */
function randomUuid(random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
}

/** Rows with heavy ties: 10 timestamps, 5 names, 7 scores. */
function tiedRows(count: number, random: () => number): Row[] {
  const dates = Array.from({ length: 10 }, (_, k) => new Date(Date.UTC(2025, 0, 1) + k * 86_400_123 + (k % 3)));
  const names = ['Acme', 'acme', 'Beta', 'Ünïcode', 'Zed'];
  const scores = [-5, 0, 1, 2, 3, 100, 1_000_000];
  return Array.from({ length: count }, () => ({
    id: randomUuid(random),
    name: pick(random, names),
    score: pick(random, scores),
    createdAt: pick(random, dates),
  }));
}

/** Random data for one seed: a small random pool per column, so ties stay frequent. */
function randomRows(random: () => number): Row[] {
  const count = Math.floor(random() * 250);
  const namePool = ['', ' ', 'a', 'A', 'ä', 'b', 'a b', 'ß', 'ss', 'Zeta', '😀', "O'Brien", 'x'.repeat(200)];
  const names = Array.from({ length: 1 + Math.floor(random() * 6) }, () => pick(random, namePool));
  const scores = Array.from({ length: 1 + Math.floor(random() * 8) }, () =>
    Math.floor((random() - 0.5) * (random() < 0.2 ? 4_294_967_294 : 20)),
  );
  const dates = Array.from(
    { length: 1 + Math.floor(random() * 12) },
    () => new Date(Math.floor((random() - 0.2) * 4_000_000_000_000)),
  );
  return Array.from({ length: count }, () => ({
    id: randomUuid(random),
    name: pick(random, names),
    score: pick(random, scores),
    createdAt: pick(random, dates),
  }));
}

/** Compares id sequences and explains the first difference (with the seed or case) instead of a long diff. */
function assertSameOrder(actual: string[], expected: string[], context: string): void {
  const duplicates = actual.length - new Set(actual).size;
  const missing = expected.filter((id) => !actual.includes(id)).length;
  const first = expected.findIndex((id, index) => actual[index] !== id);
  if (duplicates === 0 && missing === 0 && actual.length === expected.length && first === -1) return;
  throw new Error(
    `${context}: got ${actual.length} rows, expected ${expected.length}; ${duplicates} duplicated, ${missing} missing; ` +
      `first difference at index ${first === -1 ? actual.length : first}`,
  );
}

describe('cursor pagination on PostgreSQL', () => {
  let dataSource: DataSource;
  const paginator = new Paginator(new CursorCodec(testConfig()), new PageLimits(20, 100));

  beforeAll(async () => {
    dataSource = new DataSource({ type: 'postgres', url: process.env.DATABASE_URL, entities: [Item] });
    await dataSource.initialize();
    await dataSource.query(
      `CREATE TABLE ${TABLE} (id uuid PRIMARY KEY, name text NOT NULL, score int NOT NULL, created_at timestamptz(3) NOT NULL)`,
    );
  });

  afterAll(async () => {
    await dataSource.query(`DROP TABLE IF EXISTS ${TABLE}`);
    await dataSource.destroy();
  });

  async function replaceRows(rows: Row[]): Promise<void> {
    await dataSource.query(`TRUNCATE ${TABLE}`);
    await insertRows(rows);
  }

  async function insertRows(rows: Row[]): Promise<void> {
    await dataSource.query(
      `INSERT INTO ${TABLE} (id, name, score, created_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::int[], $4::timestamptz[])`,
      [
        rows.map((r) => r.id),
        rows.map((r) => r.name),
        rows.map((r) => r.score),
        rows.map((r) => r.createdAt.toISOString()),
      ],
    );
  }

  function rowsQuery(): SelectQueryBuilder<ObjectLiteral> {
    return dataSource
      .createQueryBuilder()
      .select('t.id', 'id')
      .addSelect('t.name', 'name')
      .addSelect('t.score', 'score')
      .addSelect('t.created_at', 'createdAt')
      .from(TABLE, 't');
  }

  async function referenceOrder(sort: string, where = 'true', parameters: unknown[] = []): Promise<string[]> {
    const { column, direction } = parseSortParam(sort);
    const rows: { id: string }[] = await dataSource.query(
      `SELECT id FROM ${TABLE} t WHERE ${where} ORDER BY ${column} ${direction}, id ${direction}`,
      parameters,
    );
    return rows.map((r) => r.id);
  }

  /** The reference query's own reading of `?sort=`, independent of parseSort. */
  function parseSortParam(sort: string): { field: keyof typeof COLUMN_OF; column: string; direction: SortDirection } {
    const direction: SortDirection = sort.startsWith('-') ? 'desc' : 'asc';
    const field = sort.replace(/^-/, '') as keyof typeof COLUMN_OF;
    return { field, column: COLUMN_OF[field], direction };
  }

  /** Reads one page the way a list endpoint does: resolve, query, page. */
  async function readPage(
    query: PageQueryDto,
    filter: (qb: SelectQueryBuilder<ObjectLiteral>) => SelectQueryBuilder<ObjectLiteral> = (qb) => qb,
  ): Promise<Page<Row>> {
    const request = paginator.resolve(query, LIST);
    const rows = await applyKeysetPage(filter(rowsQuery()), request).getRawMany<Row>();
    return paginator.page(rows, request);
  }

  /** Follows nextCursor to the end; `between` runs after each page (to change the table mid-walk). */
  async function walk(
    sort: string,
    limit: number,
    options: {
      filter?: (qb: SelectQueryBuilder<ObjectLiteral>) => SelectQueryBuilder<ObjectLiteral>;
      between?: (page: Page<Row>, index: number) => Promise<void>;
    } = {},
  ): Promise<string[]> {
    const ids: string[] = [];
    let cursor: string | undefined;
    for (let index = 0; ; index++) {
      const page = await readPage({ sort, limit, cursor }, options.filter);
      if (page.data.length > limit || (page.page.hasMore && page.data.length !== limit)) {
        throw new Error(
          `${sort} limit ${limit}: page ${index} has ${page.data.length} rows, hasMore ${page.page.hasMore}`,
        );
      }
      ids.push(...page.data.map((row) => row.id));
      if (!page.page.nextCursor) return ids;
      if (index > 10_000) throw new Error(`${sort} limit ${limit}: the walk does not end`);
      await options.between?.(page, index);
      cursor = page.page.nextCursor;
    }
  }

  describe('with many ties on every sort key', () => {
    const rows = tiedRows(300, prng(300));

    beforeAll(async () => {
      await replaceRows(rows);
    });

    const cases = sortParamValues(LIST).flatMap((sort) => [1, 7, 50, 100].map((limit) => [sort, limit] as const));

    it.each(cases)(
      'should return every row exactly once in reference order when sorting by %s with limit %p',
      async (sort, limit) => {
        assertSameOrder(await walk(sort, limit), await referenceOrder(sort), `sort=${sort} limit=${limit}`);
      },
    );

    it('should page entities with getMany when the sort columns are property paths', async () => {
      for (const sort of sortParamValues(ENTITY_LIST)) {
        const ids: string[] = [];
        let cursor: string | undefined;
        do {
          const request = paginator.resolve({ sort, limit: 7, cursor }, ENTITY_LIST);
          const qb = dataSource.getRepository(Item).createQueryBuilder('i');
          const page = paginator.page(await applyKeysetPage(qb, request).getMany(), request);
          expect(page.data.every((item) => item instanceof Item)).toBe(true);
          ids.push(...page.data.map((item) => item.id));
          cursor = page.page.nextCursor ?? undefined;
        } while (cursor);
        assertSameOrder(ids, await referenceOrder(sort), `entities sort=${sort}`);
      }
    });

    it('should have ties on every sort key when the fixture is built', async () => {
      const [counts]: { dates: string; names: string; scores: string }[] = await dataSource.query(
        `SELECT count(DISTINCT created_at) AS dates, count(DISTINCT name) AS names, count(DISTINCT score) AS scores FROM ${TABLE}`,
      );
      expect(counts).toEqual({ dates: '10', names: '5', scores: '7' });
    });

    it('should honour other conditions, even with a top-level OR, when the cursor condition is added', async () => {
      const where = '(t.score >= $1 OR t.name = $2)';
      const filter = (qb: SelectQueryBuilder<ObjectLiteral>) =>
        qb.where('t.score >= :minScore', { minScore: 2 }).orWhere('t.name = :name', { name: 'acme' });
      for (const sort of sortParamValues(LIST)) {
        assertSameOrder(
          await walk(sort, 7, { filter }),
          await referenceOrder(sort, where, [2, 'acme']),
          `filtered ${sort}`,
        );
      }
    });

    it('should round-trip the timestamps exactly when they come back from timestamptz(3)', async () => {
      const stored = await rowsQuery().getRawMany<Row>();
      const byId = new Map(rows.map((row) => [row.id, row.createdAt.getTime()]));
      expect(stored).toHaveLength(rows.length);
      expect(stored.every((row) => row.createdAt instanceof Date && row.createdAt.getTime() === byId.get(row.id))).toBe(
        true,
      );
    });

    it.each([
      ['-createdAt', true],
      ['createdAt', false],
    ])('should use the (column, id) index for the cursor condition when sorting by %s', async (sort, backward) => {
      const page = await readPage({ sort, limit: 5 });
      const request = paginator.resolve({ sort, limit: 5, cursor: page.page.nextCursor ?? undefined }, LIST);
      const [sql, parameters] = applyKeysetPage(rowsQuery(), request).getQueryAndParameters();
      const plan = await dataSource.transaction(async (manager) => {
        await manager.query(`CREATE INDEX ${TABLE}_created_at_id ON ${TABLE} (created_at, id)`);
        await manager.query('SET LOCAL enable_seqscan = off');
        const lines: { 'QUERY PLAN': string }[] = await manager.query(`EXPLAIN ${sql}`, parameters);
        await manager.query(`DROP INDEX ${TABLE}_created_at_id`);
        return lines.map((line) => line['QUERY PLAN']).join('\n');
      });
      expect(plan).toContain('Index Scan');
      expect(plan.includes('Backward')).toBe(backward);
      expect(plan).toMatch(/Index Cond: \(ROW\((t\.)?created_at, (t\.)?id\) [<>] ROW\(/);
      expect(plan).not.toMatch(/Sort Key/);
    });
  });

  describe('with random data', () => {
    // Fixed seeds plus one new per run, to explore; its value is in the test name and any failure message.
    const runSeed = Number(process.env.PAGINATION_TEST_SEED) || Date.now() % 1_000_000;
    const seeds = [1, 7, 42, 1337, 20250101, runSeed];

    it.each(seeds)('should return every row exactly once in reference order when seeded with %p', async (seed) => {
      const random = prng(seed);
      await replaceRows(randomRows(random));
      for (const sort of sortParamValues(LIST)) {
        const limit = pick(random, [1, 2, 3, 7, 13, 50, 99, 100]);
        const context = `seed ${seed} (PAGINATION_TEST_SEED=${seed} to replay), sort=${sort} limit=${limit}`;
        const walked = await walk(sort, limit).catch((error: unknown) => {
          throw new Error(`${context}: ${error instanceof Error ? error.message : String(error)}`);
        });
        assertSameOrder(walked, await referenceOrder(sort), context);
      }
    });
  });

  describe('while the table changes', () => {
    const random = prng(99);

    beforeEach(async () => {
      await replaceRows(tiedRows(300, random));
    });

    it.each([
      ['-createdAt', 'newer rows and ties with a higher id'],
      ['createdAt', 'older rows and ties with a lower id'],
      ['name', 'smaller names and ties with a lower id'],
      ['-score', 'higher scores and ties with a higher id'],
    ])('should neither repeat nor skip older rows when %s pages meet inserted %s', async (sort, _inserted) => {
      const original = await referenceOrder(sort);
      const inserted: string[] = [];
      const walked = await walk(sort, 50, {
        between: async (page) => {
          // Every new row sorts strictly before the position the cursor holds: a smaller key, or the same key
          // with a smaller id (in the walk's direction).
          const last = page.data[page.data.length - 1];
          const before = await rowsBefore(sort, last, 5);
          inserted.push(...before.map((row) => row.id));
          await insertRows(before);
        },
      });
      expect(inserted.length).toBeGreaterThan(0);
      expect(walked.filter((id) => inserted.includes(id))).toEqual([]);
      assertSameOrder(walked, original, `sort=${sort} with inserts before the cursor`);
    });

    it('should return rows inserted after the cursor once, in their place, when the walk reaches them', async () => {
      const first = await readPage({ sort: '-createdAt', limit: 50 });
      const last = first.data[first.data.length - 1];
      const later = tiedRows(20, prng(7)).map((row) => ({ ...row, createdAt: new Date(last.createdAt.getTime() - 1) }));
      await insertRows(later);
      const continued = await walkFrom(first.page.nextCursor ?? '', '-createdAt', 50);
      // Nothing was inserted before the cursor, so the first page is still the head of the reference order.
      const expected = (await referenceOrder('-createdAt')).slice(first.data.length);
      assertSameOrder(continued, expected, 'inserted after the cursor');
      expect(continued.filter((id) => later.some((row) => row.id === id))).toHaveLength(20);
    });

    it('should continue after the cursor row when that row was deleted before the next page', async () => {
      const original = await referenceOrder('name');
      const first = await readPage({ sort: 'name', limit: 7 });
      const last = first.data[first.data.length - 1];
      await dataSource.query(`DELETE FROM ${TABLE} WHERE id = $1`, [last.id]);
      const continued = await walkFrom(first.page.nextCursor ?? '', 'name', 7);
      assertSameOrder([...first.data.map((row) => row.id), ...continued], original, 'cursor row deleted');
    });

    async function walkFrom(cursor: string, sort: string, limit: number): Promise<string[]> {
      const ids: string[] = [];
      let next: string | null = cursor;
      while (next) {
        const page = await readPage({ sort, limit, cursor: next });
        ids.push(...page.data.map((row) => row.id));
        next = page.page.nextCursor;
      }
      return ids;
    }

    /** `count` new rows that sort before `last` in `sort`'s order: half with a smaller key, half tied with a smaller id. */
    async function rowsBefore(sort: string, last: Row, count: number): Promise<Row[]> {
      const { field, direction } = parseSortParam(sort);
      const step = direction === 'asc' ? -1 : 1;
      const rows: Row[] = [];
      for (let n = 0; n < count; n++) {
        const row = { ...tiedRows(1, random)[0] };
        const tie = n % 2 === 1;
        if (field === 'createdAt') row.createdAt = new Date(last.createdAt.getTime() + (tie ? 0 : step * (n + 1)));
        if (field === 'score') row.score = last.score + (tie ? 0 : step * (n + 1));
        if (field === 'name') row.name = tie ? last.name : '';
        if (tie) row.id = await idBefore(last.id, direction);
        rows.push(row);
      }
      return rows;
    }

    /** A fresh uuid on the far side of `id` (PostgreSQL's uuid order) from the walk's direction. */
    async function idBefore(id: string, direction: SortDirection): Promise<string> {
      for (;;) {
        const candidate = randomUuid(random);
        const [{ before }]: { before: boolean }[] = await dataSource.query(
          `SELECT ($1::uuid ${direction === 'asc' ? '<' : '>'} $2::uuid) AS before`,
          [candidate, id],
        );
        if (before) return candidate;
      }
    }
  });

  describe('over HTTP', () => {
    let app: NestFastifyApplication;

    class ProbeListQuery extends PageQueryDto {
      @IsOptional()
      @IsString()
      name?: string;
    }

    @Public()
    @Controller('pagination-probe')
    class PaginationProbeController {
      constructor(
        private readonly db: DataSource,
        private readonly pages: Paginator,
      ) {}

      @Get()
      async list(@Query() query: ProbeListQuery): Promise<Page<Row>> {
        const request = this.pages.resolve(query, LIST);
        const qb = this.db
          .createQueryBuilder()
          .select('t.id', 'id')
          .addSelect('t.name', 'name')
          .addSelect('t.score', 'score')
          .addSelect('t.created_at', 'createdAt')
          .from(TABLE, 't');
        if (query.name !== undefined) qb.where('t.name = :name', { name: query.name });
        return this.pages.page(await applyKeysetPage(qb, request).getRawMany<Row>(), request);
      }
    }

    @Module({ imports: [PaginationModule], controllers: [PaginationProbeController] })
    class PaginationProbeModule {}

    beforeAll(async () => {
      await replaceRows(tiedRows(120, prng(5)));
      app = await createApiApp(testConfig({ PAGINATION_MAX_LIMIT: '60', PAGINATION_DEFAULT_LIMIT: '25' }), {
        bufferLogs: false,
        extraModules: [PaginationProbeModule],
      });
      await app.init();
      await app.getHttpAdapter().getInstance().ready();
    });

    afterAll(async () => {
      await app.close();
    });

    const get = (query: string) => app.inject({ method: 'GET', url: `/api/v1/pagination-probe?${query}` });

    it('should walk every row in order with the configured default limit when only the cursor is passed on', async () => {
      const ids: string[] = [];
      let query = 'sort=-score';
      for (;;) {
        const res = await get(query);
        expect(res.statusCode).toBe(200);
        const body = res.json<{
          data: { id: string }[];
          page: { limit: number; nextCursor: string | null; hasMore: boolean };
        }>();
        expect(body.page.limit).toBe(25);
        ids.push(...body.data.map((row) => row.id));
        if (!body.page.nextCursor) break;
        query = `sort=-score&cursor=${encodeURIComponent(body.page.nextCursor)}`;
      }
      assertSameOrder(ids, await referenceOrder('-score'), 'over HTTP');
    });

    it('should combine a filter with the cursor when the filter is repeated', async () => {
      const first = (await get('sort=name&name=Zed&limit=3')).json<Page<Row>>();
      const second = (await get(`sort=name&name=Zed&limit=60&cursor=${first.page.nextCursor}`)).json<Page<Row>>();
      expect(second.page).toEqual({ limit: 60, nextCursor: null, hasMore: false });
      const ids = [...first.data, ...second.data].map((row) => row.id);
      assertSameOrder(ids, await referenceOrder('name', "t.name = 'Zed'"), 'filtered over HTTP');
    });

    it('should answer 400 naming cursor when the cursor is tampered with', async () => {
      const { page } = (await get('limit=2')).json<Page<Row>>();
      const cursor = page.nextCursor ?? '';
      const flipped = `${cursor[0] === 'A' ? 'B' : 'A'}${cursor.slice(1)}`;
      for (const bad of [flipped, cursor.slice(0, -1), 'garbage', '', 'A'.repeat(5000), `${cursor}%00`]) {
        const body = expectProblem(await get(`limit=2&cursor=${encodeURIComponent(bad)}`), 400, 'validation-failed');
        expect(body.errors).toEqual([
          { field: 'cursor', message: 'cursor is invalid or does not belong to this list' },
        ]);
      }
    });

    it('should answer 400 naming cursor when the cursor was made for another sort', async () => {
      const { page } = (await get('sort=name&limit=2')).json<Page<Row>>();
      const body = expectProblem(await get(`sort=-name&cursor=${page.nextCursor}`), 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'cursor', message: 'cursor is invalid or does not belong to this list' }]);
    });

    it.each([
      ['limit=61', 'limit must not be greater than 60'],
      ['limit=0', 'limit must not be less than 1'],
    ])('should answer 400 naming limit when given %s', async (query, message) => {
      const body = expectProblem(await get(query), 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'limit', message }]);
    });

    it('should answer 400 naming limit when limit is not a number', async () => {
      const body = expectProblem(await get('limit=ten'), 400, 'validation-failed');
      expect((body.errors as { field: string }[]).map((e) => e.field)).toEqual(expect.arrayContaining(['limit']));
    });

    it('should answer 400 listing the allowed values when the sort is unknown', async () => {
      const body = expectProblem(await get('sort=-email'), 400, 'validation-failed');
      expect(body.errors).toEqual([
        { field: 'sort', message: 'sort must be one of: createdAt, -createdAt, name, -name, score, -score' },
      ]);
    });
  });
});
