// EXPLAIN (ANALYZE, BUFFERS) of the hot queries (captured from the API by bench/queries.mjs), one file each
// under bench/plans/ (the full dataset; quick runs write var/bench-plans-quick/), and checks of their shape:
//   every plan    no Seq Scan on a table of more than 1,000 rows, and at least one index scan
//   lists         no Sort node: a keyset page reads its index in order, whatever the depth
//   partitioned   (audit_logs, posts) only the partitions that hold the rows the query returns are read
//                 (listed in the plan and not "never executed")
// Violations are returned (and reported by bench/run.mjs), not thrown.
//   node bench/plans.mjs [--quick]     re-explains the queries captured by the last run (var/bench-queries-<mode>.json)
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, connect, log } from './harness.mjs';

export const PLAN_DIR = { full: join(ROOT, 'bench', 'plans'), quick: join(ROOT, 'var', 'bench-plans-quick') };
const PARTITION = /\son ((?:audit_logs|posts)_(?:\d{4}_\d{2}|\d{4}_q\d|default))\b/;
const SORT_NODE = /(^|->\s+)(Incremental )?Sort\s+\(/;
const INDEX_NODE = /(Index Scan|Index Only Scan|Bitmap Index Scan)/;

/** Partition bounds of audit_logs and posts: name -> { parent, from, to } (no bounds: the DEFAULT partition). */
async function partitionBounds(db) {
  const { rows } = await db.query(`
    SELECT p.relname AS parent, c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
      FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent
     WHERE p.relname IN ('audit_logs', 'posts') AND c.relkind = 'r'`);
  return new Map(
    rows.map(({ parent, name, bound }) => {
      const match = /FROM \('([^']+)'\) TO \('([^']+)'\)/.exec(bound);
      return [name, { parent, from: match && new Date(match[1]), to: match && new Date(match[2]) }];
    }),
  );
}

/** The partitions holding rows with partition keys in [min, max]. */
function relevantPartitions(bounds, parent, keys) {
  if (!keys.length) return [];
  const min = Math.min(...keys);
  const max = Math.max(...keys);
  const found = [];
  let covered = 0;
  for (const [name, bound] of bounds) {
    if (bound.parent !== parent || !bound.from) continue;
    if (bound.from.getTime() <= max && min < bound.to.getTime()) {
      found.push(name);
      covered += keys.filter((key) => key >= bound.from.getTime() && key < bound.to.getTime()).length;
    }
  }
  if (covered < keys.length) found.push(`${parent}_default`);
  return found.sort();
}

function partitionsIn(plan) {
  const appear = new Set();
  const executed = new Set();
  const empty = new Set();
  for (const line of plan.split('\n')) {
    const match = PARTITION.exec(line);
    if (!match) continue;
    appear.add(match[1]);
    if (line.includes('never executed')) continue;
    // An index scan that found nothing (rows=0) is one probe of an empty partition, e.g. the future quarters
    // the worker creates ahead, which an ordered Append in descending order opens before the present one.
    if (/Index (Only )?Scan/.test(line) && /actual time=[\d.]+\.\.[\d.]+ rows=0 /.test(line)) empty.add(match[1]);
    else executed.add(match[1]);
  }
  return { appear: [...appear].sort(), executed: [...executed].sort(), probedEmpty: [...empty].sort() };
}

/** Each partitioned query's parent table and the result column holding the partition key. */
const PARTITION_KEY = {
  // The audit list selects raw rows named as the API's properties (AuditLogRepository.listQuery).
  'audit-day': ['audit_logs', 'occurredAt'],
  'posts-list': ['posts', 'p_created_at'],
  'posts-get': ['posts', 'p_created_at'],
};

/** Explains every query; writes one file per query; returns [{ name, file, checks, violations }]. */
export async function generatePlans({ databaseUrl, queries, mode, dataset }) {
  const dir = PLAN_DIR[mode];
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const db = await connect(databaseUrl);
  const results = [];
  try {
    const bounds = await partitionBounds(db);
    const sizes = new Map(
      (await db.query("SELECT relname, reltuples::bigint AS n FROM pg_class WHERE relkind IN ('r', 'p')")).rows.map(
        (r) => [r.relname, Number(r.n)],
      ),
    );
    for (const [name, query] of Object.entries(queries)) {
      const explain = `EXPLAIN (ANALYZE, BUFFERS) ${query.text}`;
      await db.query(explain, query.values); // warms the cache; the second run is the one kept
      const plan = (await db.query(explain, query.values)).rows.map((row) => row['QUERY PLAN']).join('\n');
      const { rows } = await db.query(query.text, query.values);
      const violations = [];
      const checks = [];

      for (const match of plan.matchAll(/Seq Scan on (\w+)/g)) {
        const table = match[1];
        const size = sizes.get(table) ?? 0;
        if (size > 1000) violations.push(`Seq Scan on ${table} (${size.toLocaleString('en')} rows)`);
      }
      checks.push('no Seq Scan on a table of more than 1,000 rows');
      if (!INDEX_NODE.test(plan)) violations.push('no index scan at all');
      checks.push('uses an index');
      if (query.kind === 'customers-list' || query.kind === 'audit-day' || query.kind === 'posts-list') {
        checks.push('no Sort node (reads the index in order)');
        if (plan.split('\n').some((line) => SORT_NODE.test(line.trim())))
          violations.push('sorts instead of reading an index in order');
      }
      let partitions;
      if (PARTITION_KEY[query.kind]) {
        const [parent, column] = PARTITION_KEY[query.kind];
        const relevant = relevantPartitions(
          bounds,
          parent,
          rows.map((row) => new Date(row[column]).getTime()),
        );
        partitions = {
          ...partitionsIn(plan),
          relevant,
          total: [...bounds.values()].filter((b) => b.parent === parent).length,
        };
        // A partition the plan lists as "(never executed)" (run-time pruning, or an ordered Append that stopped
        // early) is not read; every other partition in the plan is.
        checks.push('only the partitions holding the returned rows are read');
        const extra = partitions.executed.filter((p) => !relevant.includes(p));
        if (extra.length) {
          violations.push(
            `${partitions.executed.length} of ${partitions.total} partitions read, ${relevant.length} hold the rows (${relevant.join(', ')})`,
          );
        }
      }

      const file = join(dir, `${name}.txt`);
      const header = [
        `-- ${name}: ${query.request ?? query.kind}`,
        `-- dataset ${dataset.sizes.database}: ${dataset.sizes.customers.toLocaleString('en')} customers, ${dataset.sizes.posts.toLocaleString('en')} posts, ` +
          `${dataset.sizes.auditRows.toLocaleString('en')} audit rows, ${dataset.sizes.departments.toLocaleString('en')} departments`,
        '-- SQL as the API sent it (captured from pg in the API process), with its parameters:',
        ...query.text.split('\n').map((l) => `--   ${l}`),
        `-- parameters: ${JSON.stringify(query.values)}`,
        `-- checks: ${checks.join('; ')}`,
        `-- result: ${violations.length ? `VIOLATIONS: ${violations.join('; ')}` : 'ok'}`,
        ...(partitions
          ? [
              `-- partitions: ${partitions.total} in total, ${partitions.appear.length} in the plan, ${partitions.executed.length} read${partitions.probedEmpty.length ? `, ${partitions.probedEmpty.length} empty ones probed by their index (${partitions.probedEmpty.join(', ')})` : ''}; the rows are in ${partitions.relevant.join(', ')}`,
            ]
          : []),
        '',
      ];
      writeFileSync(file, `${header.join('\n')}${plan}\n`);
      const execution = /Execution Time: ([\d.]+) ms/.exec(plan);
      results.push({
        name,
        kind: query.kind,
        file: file.slice(ROOT.length),
        executionMs: execution ? Number(execution[1]) : null,
        partitions,
        checks,
        violations,
      });
    }
  } finally {
    await db.end();
  }
  const bad = results.filter((r) => r.violations.length);
  log(
    `plans: ${results.length} written to ${dir.slice(ROOT.length)}, ${bad.length} with violations${bad.length ? `: ${bad.map((r) => r.name).join(', ')}` : ''}`,
  );
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const mode = process.argv.includes('--quick') ? 'quick' : 'full';
  const saved = JSON.parse(readFileSync(join(ROOT, 'var', `bench-queries-${mode}.json`), 'utf8'));
  const results = await generatePlans({ ...saved, mode });
  for (const r of results)
    console.log(
      `${r.violations.length ? 'VIOLATION' : 'ok       '} ${r.name} ${r.executionMs} ms ${r.violations.join('; ')}`,
    );
}
