// GET /api/v1/customers as a department-scoped member (agent of one root department's subtree, about a third
// of the customers): the list against bare Fastify + pg running the same SQL, cursor depth for every sort,
// and ranked search.
import { probe, probeEach } from '../harness.mjs';
import { CUSTOMER_SORTS, SEARCHES } from '../queries.mjs';

export async function customersScenario(ctx) {
  const { api, cfg, member } = ctx;
  const rows = [];
  const list = `${api.url}/api/v1/customers?limit=20`;

  // 1. The list vs its baseline (same SQL, captured from the app in this run; same pool size).
  const baseline = await ctx.startBaseline('baseline-customers', 'bench/baselines/customers.mjs', {
    BENCH_BASELINE_SQL: JSON.stringify(ctx.queries['customers-list-createdAt-desc']),
  });
  let app;
  let bare;
  try {
    // Twice the mode's rounds: this VM's speed drifts by tens of percent over minutes (0.57× to 0.75× in
    // four runs of one afternoon), and more alternations average more of the drift out of the ratio.
    ({ a: app, b: bare } = await ctx.compare(
      { url: list, headers: member },
      { url: `${baseline.url}/customers` },
      { rounds: cfg.rounds * 2 },
    ));
  } finally {
    await baseline.stop();
  }
  const listRow = ctx.row({
    id: 'customers-list-rps',
    group: 'Customers',
    scenario: 'GET /customers?limit=20, department-scoped member: req/s vs bare Fastify + pg, same SQL and pool (10)',
    app,
    baseline: bare,
    ratio: app.rps / bare.rps,
    target: '≥ 0.7×',
    pass: app.rps / bare.rps >= 0.7,
  });
  const p99Row = ctx.row({
    id: 'customers-list-p99',
    group: 'Customers',
    scenario: 'GET /customers?limit=20: p99 vs the bare baseline',
    app,
    baseline: bare,
    ratio: app.p99 / bare.p99,
    target: '≤ 1.5×',
    pass: app.p99 / bare.p99 <= 1.5,
  });
  rows.push(listRow, p99Row);
  if (!listRow.pass || !p99Row.pass) {
    await ctx.profile('customers-list', 'GET /customers?limit=20 (member) under load', () =>
      ctx.load({ url: list, headers: member }),
    );
  }

  // 2. Cursor depth: page 1 vs page N (N = 5,000 on the full dataset) of every sort, one request at a time
  // (microsecond timing), alternating page 1 and page N so drift hits both.
  for (const sort of CUSTOMER_SORTS) {
    const deep = ctx.deepCursors[sort.sort];
    const first = { url: `${list}&sort=${encodeURIComponent(sort.sort)}`, headers: member };
    const last = { url: `${api.url}/api/v1${deep.path}`, headers: member };
    await probe({ targets: [first, last], seconds: cfg.warmup, concurrency: 1 });
    const {
      each: [page1, pageN],
    } = await probeEach({
      targets: [first, last],
      seconds: cfg.probeSeconds * cfg.rounds,
      concurrency: 1,
      minRequests: 100,
    });
    rows.push(
      ctx.row({
        id: `customers-cursor-${sort.sort}`,
        group: 'Customers',
        scenario: `Cursor page ${deep.page.toLocaleString('en')} vs page 1, sort=${sort.sort} (p50 latency; 1 connection, requests alternating)`,
        app: pageN,
        baseline: page1,
        baselineLabel: 'page 1',
        appLabel: `page ${deep.page}`,
        ratio: pageN.p50 / page1.p50,
        target: '≤ 1.2×',
        pass: pageN.p50 / page1.p50 <= 1.2,
      }),
    );
  }

  // 3. Search: a full name and a last name, one request at a time.
  for (const [name, q] of Object.entries(SEARCHES)) {
    const target = { url: `${list}&q=${encodeURIComponent(q)}`, headers: member };
    await probe({ targets: [target], seconds: cfg.warmup, concurrency: 1, minRequests: 5 });
    const result = await probe({
      targets: [target],
      seconds: cfg.probeSeconds * cfg.rounds,
      concurrency: 1,
      minRequests: 30,
    });
    const row = ctx.row({
      id: `customers-search-${name}`,
      group: 'Customers',
      scenario: `Search q="${q}" (${name}; ${ctx.searchMatches?.[name] ?? '?'} matches in scope), p99, 1 connection`,
      app: result,
      value: result.p99,
      unit: 'ms',
      target: '≤ 50 ms',
      pass: result.p99 <= 50,
    });
    rows.push(row);
    if (!row.pass && name === 'broad') {
      await ctx.profile('customers-search', `GET /customers?q=${q} under load`, () =>
        ctx.load({ ...target, connections: 4 }),
      );
    }
  }
  return rows;
}
