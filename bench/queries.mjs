// The hot queries, exactly as the API sends them: each request below is made once with SQL capture on in the
// API process (bench/preload.js wraps pg's Client#query), and the statement it ran is kept with its
// parameters. bench/plans.mjs EXPLAINs them, bench/baselines/customers.mjs runs the list query, and the deep
// cursors of the pagination scenario are computed from them.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { BUILD_DIR, connect, requestJson } from './harness.mjs';
import { BENCH_SECRETS } from './dataset.mjs';

const require = createRequire(import.meta.url);

// `column`: the list query's alias of the sort key (pages are read as raw rows named like CustomerDto).
export const CUSTOMER_SORTS = [
  { sort: '-createdAt', field: 'createdAt', direction: 'desc', column: 'createdAt' },
  { sort: 'createdAt', field: 'createdAt', direction: 'asc', column: 'createdAt' },
  { sort: '-updatedAt', field: 'updatedAt', direction: 'desc', column: 'updatedAt' },
  { sort: 'updatedAt', field: 'updatedAt', direction: 'asc', column: 'updatedAt' },
  { sort: '-name', field: 'name', direction: 'desc', column: 'name' },
  { sort: 'name', field: 'name', direction: 'asc', column: 'name' },
];

/** A full name (~1 in 10,000 customers) and a last name (~1 in 200). */
export const SEARCHES = { selective: 'grace hoppard', broad: 'hoppard' };

/** Noon UTC of the day `daysBack` before the end of the audit window, as [from, to) of that whole day. */
export function auditDay(state, daysBack) {
  const end = new Date(state.auditWindow.to);
  const day = Date.UTC(end.getUTCFullYear(), end.getUTCMonth(), end.getUTCDate()) - daysBack * 86_400_000;
  return { from: new Date(day).toISOString(), to: new Date(day + 86_400_000).toISOString() };
}

/** The days of the one-day audit queries: spread over the window, away from month boundaries. */
export function auditDays(state, count) {
  const days = [];
  for (let i = 0; days.length < count && i < 400; i++) {
    const day = auditDay(state, 3 + i * 13);
    const date = new Date(day.from).getUTCDate();
    if (date >= 3 && date <= 26 && new Date(day.from) > new Date(state.auditWindow.from)) days.push(day);
  }
  return days;
}

/** The cursor page `page` of a sort starts after the row at offset (page - 1) × 20 - 1 of that sort. */
export function deepPageNumber(mode) {
  return mode === 'quick' ? 500 : 5000;
}

/** Each request once, with capture on; returns the statements the API ran for it. */
async function captured(api, url, headers) {
  await api.call('capture', { on: true });
  const res = await requestJson(url, { headers }).catch((error) => ({ error }));
  const { statements } = await api.call('capture', { on: false });
  if (res.error) throw res.error;
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status} ${JSON.stringify(res.body)}`);
  return { statements, body: res.body };
}

function pick(statements, pattern, what) {
  const found = statements.filter((statement) => pattern.test(statement.text));
  if (found.length !== 1) {
    throw new Error(
      `${what}: expected one statement matching ${pattern}, got ${found.length}:\n${statements.map((s) => s.text).join('\n')}`,
    );
  }
  return found[0];
}

/**
 * Captures the hot queries and builds the deep-page cursors (one per sort, page deepPageNumber(mode)),
 * checking that each cursor's page starts at the row its offset says.
 */
export async function captureHotQueries({ api, dataset, tokens, mode, redis }) {
  const { state, url: databaseUrl } = dataset;
  const member = { authorization: `Bearer ${tokens.member}` };
  const owner = { authorization: `Bearer ${tokens.owner}` };
  const base = `${api.url}/api/v1`;
  const queries = {};

  // Grants are cached in Redis under the organization's RBAC version: bumping it makes the next request
  // load them (and the API caches them again right after).
  await redis.incr(`${api.env.REDIS_KEY_PREFIX}rbac:version:${state.organizationId}`);
  const first = await captured(api, `${base}/bench/permitted`, member);
  queries['grant-lookup'] = { ...pick(first.statements, /FROM role_assignments/, 'grant lookup'), kind: 'grant' };

  for (const sort of CUSTOMER_SORTS) {
    const { statements } = await captured(
      api,
      `${base}/customers?limit=20&sort=${encodeURIComponent(sort.sort)}`,
      member,
    );
    queries[`customers-list-${sort.field}-${sort.direction}`] = {
      ...pick(statements, /FROM "customers"/, `customers ${sort.sort}`),
      kind: 'customers-list',
      request: `GET /api/v1/customers?limit=20&sort=${sort.sort}`,
    };
  }

  // Deep pages: the row before page N's first row, from the page-1 SQL with an OFFSET instead of LIMIT 21.
  require('reflect-metadata');
  const { CursorCodec } = require(join(BUILD_DIR, 'src/core/pagination/cursor.codec.js'));
  const codec = new CursorCodec({ pagination: { cursorSecret: BENCH_SECRETS.CURSOR_SECRET } });
  const page = deepPageNumber(mode);
  const offset = (page - 1) * 20 - 1;
  const db = await connect(databaseUrl);
  const deepCursors = {};
  try {
    for (const sort of CUSTOMER_SORTS) {
      const list = queries[`customers-list-${sort.field}-${sort.direction}`];
      if (!/ LIMIT 21$/.test(list.text)) throw new Error(`customers list SQL does not end in LIMIT 21: ${list.text}`);
      const { rows } = await db.query(list.text.replace(/ LIMIT 21$/, ` OFFSET ${offset} LIMIT 2`), list.values);
      if (rows.length < 2)
        throw new Error(`fewer than ${offset + 2} customers in the member's scope: page ${page} does not exist`);
      const cursor = codec.encode({
        scope: 'customers',
        field: sort.field,
        direction: sort.direction,
        value: rows[0][sort.column],
        id: rows[0].id,
      });
      const path = `/customers?limit=20&sort=${encodeURIComponent(sort.sort)}&cursor=${encodeURIComponent(cursor)}`;
      const { statements, body } = await captured(api, `${base}${path}`, member);
      if (body.data?.[0]?.id !== rows[1].id) {
        throw new Error(`deep cursor for ${sort.sort}: page starts at ${body.data?.[0]?.id}, expected ${rows[1].id}`);
      }
      deepCursors[sort.sort] = { page, cursor, path };
      queries[`customers-list-${sort.field}-${sort.direction}-page${page}`] = {
        ...pick(statements, /FROM "customers"/, `customers ${sort.sort} deep`),
        kind: 'customers-list',
        request: `GET /api/v1/customers?limit=20&sort=${sort.sort}&cursor=<page ${page}>`,
      };
    }
  } finally {
    await db.end();
  }

  for (const [name, q] of Object.entries(SEARCHES)) {
    const { statements, body } = await captured(api, `${base}/customers?limit=20&q=${encodeURIComponent(q)}`, member);
    if (!body.data?.length) throw new Error(`search ${q}: no results`);
    // Whole words first; when they fill less than the page, the API runs the trigram fallback after them.
    const found = statements.filter((statement) => /FROM "customers"/.test(statement.text));
    if (found.length < 1 || found.length > 2) {
      throw new Error(`search ${q}: expected 1 or 2 customer queries, got ${found.length}`);
    }
    const request = `GET /api/v1/customers?limit=20&q=${q}`;
    queries[`customers-search-${name}`] = { ...found.at(-1), kind: 'customers-search', request };
    if (found.length === 2)
      queries[`customers-search-${name}-words`] = { ...found[0], kind: 'customers-search', request };
  }

  const [day] = auditDays(state, 1);
  const auditPath = `/audit-logs?limit=20&from=${encodeURIComponent(day.from)}&to=${encodeURIComponent(day.to)}`;
  const audit = await captured(api, `${base}${auditPath}`, owner);
  if (audit.body.data?.length !== 20) throw new Error(`audit day ${day.from}: ${audit.body.data?.length} entries`);
  queries['audit-day'] = {
    ...pick(audit.statements, /FROM "audit_logs"/, 'audit day'),
    kind: 'audit-day',
    request: `GET /api/v1${auditPath}`,
  };

  const posts = await captured(api, `${base}/posts?limit=20`, member);
  queries['posts-list'] = {
    ...pick(posts.statements, /FROM "posts"/, 'posts list'),
    kind: 'posts-list',
    request: 'GET /api/v1/posts?limit=20',
  };
  const postId = posts.body.data[5].id;
  const post = await captured(api, `${base}/posts/${postId}`, owner);
  queries['posts-get'] = {
    ...pick(post.statements, /FROM "posts"/, 'post by id'),
    kind: 'posts-get',
    request: 'GET /api/v1/posts/:id',
  };
  const publicPosts = await captured(api, `${base}/bench/public-posts-uncached/${state.organizationSlug}?limit=20`, {});
  queries['public-posts-list'] = {
    ...pick(publicPosts.statements, /FROM "posts"/, 'public posts'),
    kind: 'posts-list',
    request: `GET /api/v1/public/${state.organizationSlug}/posts?limit=20 (cache miss)`,
  };
  return { queries, deepCursors, auditPath };
}
