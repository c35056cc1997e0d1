import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { insertDepartment, insertMember, insertRole, loginAs } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { insertCustomers, type CustomerFixture } from '../factories/customer.factory';

interface PageBody {
  data: { id: string; name: string }[];
  page: { limit: number; nextCursor: string | null; hasMore: boolean };
}

const ids = (rows: { id: string }[]) => rows.map((row) => row.id);

/**
 * GET /customers?q= (issue #9): whole words, the trigram fallback only when they find nothing, and the
 * mode page 1 chose kept by its cursor.
 */
describe('Customer search', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  const named = {} as Record<string, string>;
  let departmentA: string;

  beforeAll(async () => {
    const env: RawEnv = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}customer-search:` };
    app = await createTestApp(env);
    owner = await registerOwner(app, 'customer-search');
    departmentA = (await insertDepartment(app, owner.organizationId, { name: 'A', parentId: null })).id;
    const departmentB = (await insertDepartment(app, owner.organizationId, { name: 'B', parentId: null })).id;
    const people: CustomerFixture[] = [
      // Seven rows with the word "thornbury" (one of them exactly that name), one only similar to it.
      { name: 'Thornbury Fan 0' },
      { name: 'Thornbury' },
      ...Array.from({ length: 4 }, (_, i) => ({ name: `Thornbury Fan ${i + 1}` })),
      { name: 'Ella Marsh', company: 'Thornbury Holdings' },
      { name: 'Thornberry Ltd' },
      // Department scope: three in A, three in B, one at organization level.
      ...['A', 'B'].flatMap((where) =>
        Array.from({ length: 3 }, (_, i) => ({
          name: `Quillfeather ${where}${i}`,
          departmentId: where === 'A' ? departmentA : departmentB,
        })),
      ),
      { name: 'Quillfeather Org' },
      { name: "O'Brien & Sons", company: 'Back\\slash | Pipe' },
      { name: 'Zoë "Ada" Ünïcode \u2028 \u0007 </script> 😀', email: 'zoe@unicode.example', tags: ['vip', 'ä "q"'] },
    ];
    for (const row of await insertCustomers(app, owner.organizationId, people)) named[row.name] = row.id;
  });

  afterAll(async () => {
    await app?.close();
  });

  const get = (url: string, token = owner.accessToken) =>
    app.inject({ method: 'GET', url: `/api/v1${url}`, headers: bearer(token) });

  async function page(q: string, limit: number, cursor?: string | null, token?: string): Promise<PageBody> {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
    const res = await get(`/customers?q=${encodeURIComponent(q)}&limit=${limit}${after}`, token);
    expect(res.statusCode).toBe(200);
    return res.json<PageBody>();
  }

  /** Every row of a search, page by page; `between` runs after each page. */
  async function walk(q: string, limit: number, token?: string, between?: () => Promise<unknown>) {
    const rows: PageBody['data'] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const body = await page(q, limit, cursor, token);
      expect(body.data.length).toBeLessThanOrEqual(limit);
      rows.push(...body.data);
      if (!body.page.hasMore) return rows;
      cursor = body.page.nextCursor;
      await between?.();
    }
    throw new Error('too many pages');
  }

  const thornburyWords = () =>
    ['Thornbury', 'Ella Marsh', ...Array.from({ length: 5 }, (_, i) => `Thornbury Fan ${i}`)].map((n) => named[n]);

  it('should answer whole-word matches only when there are any, the exact name first', async () => {
    // Seven word matches, fewer than a page: still words only (the trigram scan runs only for no match).
    const found = ids((await page('thornbury', 50)).data);
    expect(found[0]).toBe(named['Thornbury']);
    expect(found.slice().sort()).toEqual(thornburyWords().sort());
    expect(found).not.toContain(named['Thornberry Ltd']);
  });

  it('should page through whole-word matches without repeats or gaps, in the order the fallback shows them', async () => {
    // Seven matches fill pages of 2: words only, no typo matches.
    const walked = await walk('thornbury', 2);
    expect(new Set(ids(walked)).size).toBe(walked.length);
    expect(ids(walked).sort()).toEqual(thornburyWords().sort());
    expect(ids(walked)).not.toContain(named['Thornberry Ltd']);
    expect(ids(walked)).toEqual(ids((await page('thornbury', 50)).data).slice(0, 7));
  });

  it('should still find a misspelled word, paging the fallback without repeats or gaps', async () => {
    const all = ids((await page('thornbery', 50)).data);
    expect(all).toEqual(expect.arrayContaining([...thornburyWords(), named['Thornberry Ltd']]));
    const walked = ids(await walk('thornbery', 3));
    expect(walked).toEqual(all);
  });

  it('should keep the mode of page 1 on later pages when word matches appear in between', async () => {
    const all = ids((await page('thornbery', 50)).data);
    let inserted = false;
    const walked = await walk('thornbery', 3, undefined, async () => {
      if (inserted) return;
      inserted = true;
      // Now "thornbery" as a word would fill a page: the cursor must still continue the fallback.
      await insertCustomers(
        app,
        owner.organizationId,
        Array.from({ length: 4 }, (_, i) => ({ name: `Thornbery Newcomer ${i}` })),
      );
    });
    expect(ids(walked)).toEqual(all);
    expect(ids((await page('thornbery', 3)).data).every((id) => !all.includes(id))).toBe(true);
  });

  it('should confine both modes to the departments the caller can read', async () => {
    const roleId = await insertRole(app, owner.organizationId, ['customers:read']);
    const member = await insertMember(app, owner.organizationId, {
      departmentId: departmentA,
      assignments: [{ roleId, departmentId: departmentA }],
    });
    const token = await loginAs(app, member.email);
    const inA = ['A0', 'A1', 'A2'].map((suffix) => named[`Quillfeather ${suffix}`]).sort();
    expect(ids(await walk('quillfeather', 2, token)).sort()).toEqual(inA);
    expect(ids(await walk('quillfeather', 20, token)).sort()).toEqual(inA);
    expect(ids(await walk('quilfeather', 2, token)).sort()).toEqual(inA);
    expect(await walk('quillfeather', 2)).toHaveLength(7);
  });

  it.each([
    '&',
    '|',
    '!',
    ':*',
    "'",
    '\\',
    "o'brien & sons",
    'thornbury:*',
    '!thornbury | ada',
    "a' | 'b",
    '(',
    '<->',
    '%_',
  ])('should answer 200 when q is %p (operators and quotes are plain text)', async (q) => {
    const res = await get(`/customers?q=${encodeURIComponent(q)}&limit=5`);
    expect(res.statusCode).toBe(200);
    expect(Array.isArray(res.json<PageBody>().data)).toBe(true);
  });

  it('should refuse a NUL character in q as bad input, not fail on it', async () => {
    expect((await get(`/customers?q=${encodeURIComponent('nul\u0000byte')}`)).statusCode).toBe(400);
  });

  it('should find a name with quotes and ampersands by its words', async () => {
    expect(ids((await page("o'brien & sons", 1)).data)).toEqual([named["O'Brien & Sons"]]);
    expect(ids((await page('back\\slash | pipe', 5)).data)).toContain(named["O'Brien & Sons"]);
  });

  it('should write a page as the same bytes JSON.stringify writes, every field included', async () => {
    // GET /customers has a Fastify response schema (compiled serializer); awkward text must not change bytes.
    const customFields = { nested: { b: 1, a: [true, null, 'x'] }, 'key "quoted"': 1.5, empty: {}, emoji: '😀' };
    await app
      .get(DataSource)
      .query('UPDATE customers SET custom_fields = $1 WHERE email = $2', [customFields, 'zoe@unicode.example']);
    for (const url of ['/customers?limit=100', `/customers?q=${encodeURIComponent('zoë ünïcode')}`]) {
      const res = await get(url);
      expect(res.statusCode).toBe(200);
      const body = res.json<{ data: Record<string, unknown>[] }>();
      expect(res.body).toBe(JSON.stringify(body));
      const zoe = body.data.find((row) => row.email === 'zoe@unicode.example');
      expect(zoe).toMatchObject({ name: 'Zoë "Ada" Ünïcode \u2028 \u0007 </script> 😀', customFields, version: 1 });
      expect(Object.keys(zoe ?? {})).toEqual([
        'id',
        'name',
        'email',
        'phone',
        'company',
        'status',
        'tags',
        'ownerId',
        'departmentId',
        'customFields',
        'version',
        'createdAt',
        'updatedAt',
      ]);
    }
  });
});
