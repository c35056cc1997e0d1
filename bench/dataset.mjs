// The bench database (issue #9): one organization with a department tree, users with department-scoped
// roles, customers, posts (quarterly partitions) and audit entries (monthly partitions), loaded with
// COPY … FROM STDIN (rows generated here, streamed through psql) while the tables' secondary indexes are
// dropped, then indexed, vacuumed and analyzed. Reusable: the database keeps a marker table (bench_dataset)
// with the dataset's version, sizes and migrations; it is regenerated only when that differs or is missing,
// or the tables no longer hold what the marker says.
//   node bench/dataset.mjs [--quick] [--force]      (bench/run.mjs calls ensureDataset)
// Generation is deterministic (seeded PRNG), relative to the time it runs.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createHmac } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ADMIN_URL,
  BUILD_DIR,
  ROOT,
  connect,
  databaseUrl,
  log,
  requestJson,
  runCommand,
  startNode,
} from './harness.mjs';

const require = createRequire(import.meta.url);
const bcrypt = require('bcrypt');

export const DATASET_VERSION = 3;

// BENCH_DB_SUFFIX keeps datasets of different checkouts (whose migrations differ) apart on one machine.
const DB_SUFFIX = (process.env.BENCH_DB_SUFFIX ?? '').replace(/[^a-z0-9_]/g, '');

export const SIZES = {
  full: {
    database: `atrium_bench${DB_SUFFIX}`,
    customers: 1_000_000,
    posts: 100_000,
    auditRows: 10_000_000,
    departments: 1000,
    users: 2000,
    auditOrganizations: 50,
  },
  quick: {
    database: `atrium_bench_quick${DB_SUFFIX}`,
    customers: 50_000,
    posts: 5_000,
    auditRows: 200_000,
    departments: 100,
    users: 200,
    auditOrganizations: 50,
  },
};

/** Pepper, passwords and cursor secret of the bench API (bench only; never used anywhere else). */
export const BENCH_SECRETS = {
  PASSWORD_PEPPER: Buffer.from('atrium-bench-only-pepper-0123456789').toString('base64'),
  CURSOR_SECRET: 'atrium-bench-only-cursor-secret-0123456789abcdef',
};
export const LOGIN_BCRYPT_COST = 12;
const OWNER = { email: 'owner@bench.atrium.test', password: 'Bench-owner-password-2026' };
const MEMBER = { email: 'member@bench.atrium.test', password: 'Bench-member-password-2026' };
/** Accounts the login scenarios cycle through (logins of one account serialize on its row lock). */
const LOGIN_USERS = 32;
const LOGIN_PASSWORD = 'Bench-login-password-2026';

const DAY = 86_400_000;
const CUSTOMER_SPAN_DAYS = 730;
const POST_SPAN_DAYS = 730;
const AUDIT_SPAN_DAYS = 360;
/** Share of audit rows that belong to the bench organization (the rest: other organizations). */
const AUDIT_OWN_SHARE = 0.2;
const ROOTS = 10;
const FANOUT = 10;

// 50 first × 200 last names (as bench/customers.seed.mjs): a full name matches ~1/10,000 rows, a last name ~1/200.
export const FIRST =
  'ada alan grace edsger barbara donald ken dennis linus guido bjarne james john margaret frances radia tim vint bob leslie niklaus tony robin peter judea shafi silvio whitfield martin ivan adele anita jean sophie hedy katherine dorothy mary annie evelyn joan ruth lynn betty kathleen marlyn jennifer susan carol ellen'.split(
    ' ',
  );
export const LAST = Array.from(
  { length: 200 },
  (_, i) =>
    `${['lovel', 'babb', 'hopp', 'turin', 'knuth', 'ritch', 'thomp', 'lampo', 'wirth', 'hoare'][i % 10]}${['ace', 'age', 'er', 'ing', 'son', 'ell', 'ard', 'ova', 'ini', 'ez', 'berg', 'stein', 'wood', 'field', 'ford', 'ton', 'ley', 'man', 'ski', 'ridge'][Math.floor(i / 10)]}`,
);
const COMPANIES = Array.from(
  { length: 500 },
  (_, i) => `Company ${i} ${['Labs', 'Ltd', 'GmbH', 'Inc', 'Systems'][i % 5]}`,
);
const STATUSES = ['lead', 'prospect', 'active', 'churned'];
const TAGS = ['{}', '{vip}', '{newsletter,vip}', '{newsletter}', '{}'];
const AUDIT_ACTIONS = [
  ['customers.update', 'customers'],
  ['customers.create', 'customers'],
  ['customers.update', 'customers'],
  ['posts.update', 'posts'],
  ['posts.publish', 'posts'],
  ['auth.login', null],
  ['auth.login', null],
  ['media.create', 'media'],
  ['roles.update', 'roles'],
  ['customers.delete', 'customers'],
];
const WORDS =
  'release notes roadmap update spring summer autumn winter product launch guide tutorial customer story engineering culture hiring event recap'.split(
    ' ',
  );

// ---- deterministic randomness (sfc32) and ids ----

function prng(seed) {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed * 2654435761;
  const next = () => {
    a |= 0;
    b |= 0;
    c |= 0;
    d |= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 20; i++) next();
  return {
    u32: next,
    float: () => next() / 4294967296,
    pick: (list) => list[Math.floor((next() / 4294967296) * list.length)],
  };
}

const hex8 = (value) => (value >>> 0).toString(16).padStart(8, '0');
const hex4 = (value) => (value & 0xffff).toString(16).padStart(4, '0');

/** A UUIDv7 carrying `ms` (as the app's uuidv7()), random bits from `rand`. */
function uuid7(ms, rand) {
  const r1 = rand.u32();
  const high = Math.floor(ms / 65536);
  return `${hex8(high)}-${hex4(ms % 65536)}-7${(r1 & 0xfff).toString(16).padStart(3, '0')}-${hex4(0x8000 | ((r1 >>> 12) & 0x3fff))}-${hex4(rand.u32())}${hex8(rand.u32())}`;
}

const iso = (ms) => new Date(ms).toISOString();

/** The app's password hashing (src/core/security/password-hasher.ts): HMAC-SHA-256 with the pepper, then bcrypt. */
function passwordHash(password, cost) {
  const prehashed = createHmac('sha256', Buffer.from(BENCH_SECRETS.PASSWORD_PEPPER, 'base64'))
    .update(password.normalize('NFC'), 'utf8')
    .digest('base64');
  return bcrypt.hash(prehashed, cost);
}

// ---- COPY FROM STDIN through psql ----

/** Streams the rows `generate(write)` produces into `COPY <table> (<columns>) FROM STDIN` (text format). */
async function copyInto(url, table, columns, generate) {
  const started = performance.now();
  const psql = spawn(
    'nice',
    [
      '-n',
      '10',
      'psql',
      '-X',
      '-q',
      '-v',
      'ON_ERROR_STOP=1',
      '-d',
      url,
      '-c',
      `COPY ${table} (${columns.join(', ')}) FROM STDIN`,
    ],
    { stdio: ['pipe', 'ignore', 'pipe'] },
  );
  let stderr = '';
  psql.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = once(psql, 'exit');
  let buffer = [];
  let rows = 0;
  const flush = async () => {
    if (!buffer.length) return;
    const chunk = buffer.join('');
    buffer = [];
    if (!psql.stdin.write(chunk)) await once(psql.stdin, 'drain');
  };
  const write = async (line) => {
    buffer.push(line);
    rows++;
    if (buffer.length >= 2000) await flush();
  };
  try {
    await generate(write);
    await flush();
  } finally {
    psql.stdin.end();
  }
  const [code] = await exited;
  if (code !== 0) throw new Error(`COPY ${table} failed (exit ${code}): ${stderr.trim()}`);
  const seconds = (performance.now() - started) / 1000;
  log(`  COPY ${table}: ${rows.toLocaleString('en')} rows in ${seconds.toFixed(1)} s`);
  return { rows, seconds };
}

const N = '\\N';
const line = (fields) => `${fields.join('\t')}\n`;

// ---- the marker ----

function migrationNames() {
  return readdirSync(join(ROOT, 'migrations'))
    .filter((name) => name.endsWith('.ts'))
    .sort();
}

function fingerprintOf(sizes) {
  return { version: DATASET_VERSION, sizes, migrations: migrationNames(), bcryptCost: LOGIN_BCRYPT_COST };
}

/** JSON with object keys sorted (jsonb does not keep key order). */
function canonical(value) {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical(value[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

async function databaseExists(name) {
  const admin = await connect(ADMIN_URL);
  try {
    return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
  } finally {
    await admin.end();
  }
}

/** The marker's state when the database holds the dataset `fingerprint` describes; otherwise why not. */
async function reusable(url, fingerprint) {
  const db = await connect(url);
  try {
    const marker = await db.query("SELECT value FROM bench_dataset WHERE key = 'dataset'").catch(() => null);
    const stored = marker?.rows[0]?.value;
    if (!stored) return { reason: 'no marker (never generated, or generation did not finish)' };
    if (canonical(stored.fingerprint) !== canonical(fingerprint)) {
      return { reason: `marker differs: ${JSON.stringify(stored.fingerprint)}` };
    }
    // The tables must still hold what the marker says (planner estimates, kept by ANALYZE/autovacuum).
    const { rows } = await db.query(`
      SELECT (SELECT count(*) FROM customers) AS customers,
             (SELECT sum(reltuples)::bigint FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
               WHERE i.inhparent = 'audit_logs'::regclass) AS audit,
             (SELECT count(*) FROM posts) AS posts,
             (SELECT count(*) FROM departments) AS departments`);
    const [counts] = rows;
    const { sizes } = fingerprint;
    const near = (actual, expected) => Number(actual) >= expected * 0.97 && Number(actual) <= expected * 1.05;
    if (
      !near(counts.customers, sizes.customers) ||
      !near(counts.posts, sizes.posts) ||
      !near(counts.audit, sizes.auditRows) ||
      Number(counts.departments) < sizes.departments
    ) {
      return { reason: `tables differ from the marker: ${JSON.stringify(counts)}` };
    }
    return { state: stored.state, generatedAt: stored.generatedAt, seconds: stored.seconds };
  } finally {
    await db.end();
  }
}

// ---- generation ----

async function recreateDatabase(name) {
  const admin = await connect(ADMIN_URL);
  try {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
}

/** Migrates through the built API (DB_MIGRATE_ON_START) and registers the owner; returns the owner's ids. */
async function migrateAndRegister(url, apiEnv) {
  const api = await startNode('dataset-api', join(relativeBuild(), 'bench/fixtures/bench-api.main.js'), {
    env: { ...apiEnv, DATABASE_URL: url, DB_MIGRATE_ON_START: 'true' },
    timeoutMs: 180_000,
  });
  try {
    const res = await requestJson(`${api.url}/api/v1/auth/register`, {
      method: 'POST',
      json: { organizationName: 'Atrium Bench', name: 'Bench Owner', email: OWNER.email, password: OWNER.password },
    });
    if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  } finally {
    await api.stop();
  }
}

const relativeBuild = () => BUILD_DIR.slice(ROOT.length);

/** Department tree: ROOTS roots, every node up to FANOUT children, breadth first; path '/<root>/…/<self>/'. */
function departmentTree(count, rand, now) {
  const nodes = [];
  for (let i = 0; i < count; i++) {
    const parent = i < ROOTS ? null : nodes[Math.floor((i - ROOTS) / FANOUT)];
    const id = uuid7(now - DAY * 800 + i, rand);
    nodes.push({
      id,
      index: i,
      parent,
      depth: parent ? parent.depth + 1 : 0,
      path: `${parent ? parent.path : '/'}${id}/`,
    });
  }
  return nodes;
}

function monthsBetween(fromMs, toMs) {
  const months = [];
  const d = new Date(fromMs);
  let cursor = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  while (cursor <= toMs) {
    months.push(cursor);
    const c = new Date(cursor);
    cursor = Date.UTC(c.getUTCFullYear(), c.getUTCMonth() + 1, 1);
  }
  return months;
}

async function generate(sizes, url, apiEnv) {
  const started = performance.now();
  const now = Date.now();
  const rand = prng(20261126);
  await recreateDatabase(sizes.database);
  log(`  migrating ${sizes.database} and registering the owner through the built API`);
  await migrateAndRegister(url, apiEnv);

  const db = await connect(url);
  try {
    // The session's timezone decides how month/quarter boundaries are computed below: UTC, like the app's.
    await db.query("SET TIME ZONE 'UTC'");
    const owner = (await db.query('SELECT id, organization_id FROM users WHERE email = $1', [OWNER.email])).rows[0];
    const organizationId = owner.organization_id;
    const { slug: organizationSlug } = (
      await db.query('SELECT slug FROM organizations WHERE id = $1', [organizationId])
    ).rows[0];
    const roles = Object.fromEntries(
      (await db.query('SELECT system_key, id FROM roles WHERE organization_id = $1', [organizationId])).rows.map(
        (r) => [r.system_key, r.id],
      ),
    );

    // Partitions for the past: months of audit entries, quarters of posts (the migrations create the present on).
    const auditFrom = now - AUDIT_SPAN_DAYS * DAY;
    for (const month of monthsBetween(auditFrom, now)) {
      const m = new Date(month);
      const name = `audit_logs_${m.getUTCFullYear()}_${String(m.getUTCMonth() + 1).padStart(2, '0')}`;
      const next = Date.UTC(m.getUTCFullYear(), m.getUTCMonth() + 1, 1);
      await db.query(
        `DO $$ BEGIN IF to_regclass('${name}') IS NULL THEN
           CREATE TABLE ${name} PARTITION OF audit_logs FOR VALUES FROM ('${iso(month)}') TO ('${iso(next)}');
         END IF; END $$`,
      );
    }
    const postsFrom = now - POST_SPAN_DAYS * DAY;
    for (const month of monthsBetween(postsFrom, now)) {
      const m = new Date(month);
      if (m.getUTCMonth() % 3 !== 0 && month > postsFrom) continue;
      const quarterStart = Date.UTC(m.getUTCFullYear(), Math.floor(m.getUTCMonth() / 3) * 3, 1);
      const q = new Date(quarterStart);
      const name = `posts_${q.getUTCFullYear()}_q${Math.floor(q.getUTCMonth() / 3) + 1}`;
      const next = Date.UTC(q.getUTCFullYear(), q.getUTCMonth() + 3, 1);
      await db.query(
        `DO $$ BEGIN IF to_regclass('${name}') IS NULL THEN
           CREATE TABLE ${name} PARTITION OF posts FOR VALUES FROM ('${iso(quarterStart)}') TO ('${iso(next)}');
         END IF; END $$`,
      );
    }

    // Departments.
    const tree = departmentTree(sizes.departments, rand, now);
    await copyInto(
      url,
      'departments',
      ['id', 'organization_id', 'parent_id', 'name', 'path', 'depth', 'created_at', 'updated_at'],
      async (write) => {
        for (const node of tree) {
          const created = iso(now - DAY * 800 + node.index);
          await write(
            line([
              node.id,
              organizationId,
              node.parent?.id ?? N,
              `Department ${node.index}`,
              node.path,
              node.depth,
              created,
              created,
            ]),
          );
        }
      },
    );
    const memberDepartment = tree[0];
    const memberSubtree = tree.filter((node) => node.path.startsWith(memberDepartment.path));

    // Users: the member (agent of department 0's subtree; the login user: bcrypt at the login cost) and
    // `users` others, each an agent of a department, every tenth also a manager there.
    const memberId = uuid7(now - DAY * 700, rand);
    const memberHash = await passwordHash(MEMBER.password, LOGIN_BCRYPT_COST);
    const otherHash = await passwordHash('Bench-other-password-2026', 4);
    const loginHash = await passwordHash(LOGIN_PASSWORD, LOGIN_BCRYPT_COST);
    const loginEmails = Array.from({ length: LOGIN_USERS }, (_, i) => `login${i}@bench.atrium.test`);
    const userIds = [];
    const assignments = [[uuid7(now - DAY * 700, rand), memberId, roles.agent, memberDepartment.id]];
    await copyInto(
      url,
      'users',
      [
        'id',
        'organization_id',
        'email',
        'name',
        'status',
        'password_hash',
        'email_verified_at',
        'department_id',
        'created_at',
        'updated_at',
      ],
      async (write) => {
        const created = iso(now - DAY * 700);
        await write(
          line([
            memberId,
            organizationId,
            MEMBER.email,
            'Bench Member',
            'active',
            memberHash,
            created,
            memberDepartment.id,
            created,
            created,
          ]),
        );
        for (const [i, email] of loginEmails.entries()) {
          const id = uuid7(now - DAY * 701 + i, rand);
          assignments.push([uuid7(now - DAY * 701 + i, rand), id, roles.agent, memberDepartment.id]);
          await write(
            line([
              id,
              organizationId,
              email,
              `Bench Login ${i}`,
              'active',
              loginHash,
              created,
              memberDepartment.id,
              created,
              created,
            ]),
          );
        }
        for (let i = 0; i < sizes.users; i++) {
          const id = uuid7(now - DAY * 700 + i, rand);
          const department = tree[i % tree.length];
          userIds.push(id);
          assignments.push([uuid7(now - DAY * 700 + i, rand), id, roles.agent, department.id]);
          if (i % 10 === 0) assignments.push([uuid7(now - DAY * 700 + i, rand), id, roles.manager, department.id]);
          await write(
            line([
              id,
              organizationId,
              `user${i}@bench.atrium.test`,
              `${rand.pick(FIRST)} ${rand.pick(LAST)}`,
              'active',
              otherHash,
              created,
              department.id,
              created,
              created,
            ]),
          );
        }
      },
    );
    await copyInto(
      url,
      'role_assignments',
      ['id', 'organization_id', 'user_id', 'role_id', 'department_id', 'created_by', 'created_at'],
      async (write) => {
        for (const [id, userId, roleId, departmentId] of assignments) {
          await write(line([id, organizationId, userId, roleId, departmentId, owner.id, iso(now - DAY * 700)]));
        }
      },
    );

    // Secondary indexes go while the big tables load, and come back afterwards (parents of partitioned
    // tables list their index as ON ONLY: recreated without ONLY, so every partition gets it again).
    const dropped = [];
    for (const table of ['customers', 'posts', 'audit_logs']) {
      const { rows } = await db.query(
        `SELECT indexname, indexdef FROM pg_indexes i
          WHERE tablename = $1 AND schemaname = 'public'
            AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`,
        [table],
      );
      for (const { indexname, indexdef } of rows) {
        dropped.push(indexdef.replace(/ ON ONLY /, ' ON '));
        await db.query(`DROP INDEX ${indexname}`);
      }
    }

    // Departments customers and posts belong to: 10% none (organization-level), a quarter of the rest in
    // the member's subtree, the others anywhere.
    const departmentOf = () => {
      const r = rand.float();
      if (r < 0.1) return N;
      if (r < 0.1 + 0.9 * 0.25) return memberSubtree[Math.floor(rand.float() * memberSubtree.length)].id;
      return tree[Math.floor(rand.float() * tree.length)].id;
    };

    const customerFrom = now - CUSTOMER_SPAN_DAYS * DAY;
    const customerStep = ((CUSTOMER_SPAN_DAYS - 1) * DAY) / sizes.customers;
    await copyInto(
      url,
      'customers',
      [
        'id',
        'organization_id',
        'department_id',
        'owner_id',
        'name',
        'email',
        'phone',
        'company',
        'status',
        'tags',
        'custom_fields',
        'version',
        'created_at',
        'updated_at',
        'deleted_at',
      ],
      async (write) => {
        for (let g = 0; g < sizes.customers; g++) {
          const created = Math.floor(customerFrom + g * customerStep);
          const updated = Math.min(now - DAY, created + Math.floor(rand.float() * 30 * DAY));
          const first = rand.pick(FIRST);
          const last = rand.pick(LAST);
          const deleted = rand.float() < 0.01;
          await write(
            line([
              uuid7(created, rand),
              organizationId,
              departmentOf(),
              rand.float() < 0.3 ? rand.pick(userIds) : N,
              `${first[0].toUpperCase()}${first.slice(1)} ${last[0].toUpperCase()}${last.slice(1)}`,
              `${first}.${last}.${g}@example.com`,
              `+1 555 ${String(g).padStart(7, '0')}`,
              rand.pick(COMPANIES),
              rand.pick(STATUSES),
              rand.pick(TAGS),
              `{"seq": ${g}}`,
              1,
              iso(created),
              iso(updated),
              deleted ? iso(updated) : N,
            ]),
          );
        }
      },
    );

    const postStep = ((POST_SPAN_DAYS - 1) * DAY) / sizes.posts;
    const slugs = [];
    let firstPost;
    await copyInto(
      url,
      'posts',
      [
        'id',
        'created_at',
        'organization_id',
        'department_id',
        'author_id',
        'title',
        'slug',
        'body',
        'excerpt',
        'status',
        'publish_at',
        'published_at',
        'tags',
        'version',
        'updated_at',
        'deleted_at',
      ],
      async (write) => {
        for (let i = 0; i < sizes.posts; i++) {
          const created = Math.floor(postsFrom + i * postStep);
          const id = uuid7(created, rand);
          const r = rand.float();
          const status = r < 0.8 ? 'published' : r < 0.92 ? 'draft' : 'archived';
          const published =
            status === 'draft' ? N : iso(Math.min(now - DAY, created + Math.floor(rand.float() * 3 * DAY)));
          const deleted = rand.float() < 0.01;
          const title = `${rand.pick(WORDS)} ${rand.pick(WORDS)} ${rand.pick(WORDS)} ${i}`;
          const slug = `post-${i}`;
          if (!deleted) slugs.push([slug, id, created]);
          firstPost ??= { id, createdAt: iso(created) };
          await write(
            line([
              id,
              iso(created),
              organizationId,
              departmentOf(),
              rand.pick(userIds),
              title,
              slug,
              `${title}. `.repeat(8),
              title,
              status,
              published,
              published,
              rand.pick(TAGS),
              1,
              iso(created),
              deleted ? iso(created + DAY) : N,
            ]),
          );
        }
      },
    );
    await copyInto(url, 'post_slugs', ['organization_id', 'slug', 'post_id', 'post_created_at'], async (write) => {
      for (const [slug, id, created] of slugs) await write(line([organizationId, slug, id, iso(created)]));
    });

    // Audit entries: evenly over the last AUDIT_SPAN_DAYS (until an hour ago), AUDIT_OWN_SHARE of them the
    // bench organization's. Their hash chains are their own (chain_key bench:<org>), so the chain the app
    // appends to for the organization stays valid.
    const organizations = [organizationId];
    for (let i = 1; i < sizes.auditOrganizations; i++)
      organizations.push(`00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const chains = organizations.map((org) => ({ key: `bench:${org}`, org }));
    const actors = [owner.id, memberId, ...userIds.slice(0, 50)];
    const auditTo = now - 3_600_000;
    const auditStep = (auditTo - auditFrom) / sizes.auditRows;
    const ips = Array.from({ length: 64 }, (_, i) => `203.0.113.${i}`);
    await copyInto(
      url,
      'audit_logs',
      [
        'id',
        'occurred_at',
        'organization_id',
        'actor_id',
        'action',
        'resource_type',
        'resource_id',
        'outcome',
        'ip',
        'user_agent',
        'request_id',
        'changes',
        'details',
        'chain_key',
      ],
      async (write) => {
        for (let g = 0; g < sizes.auditRows; g++) {
          const at = Math.floor(auditFrom + g * auditStep);
          const chain = rand.float() < AUDIT_OWN_SHARE ? chains[0] : chains[1 + (rand.u32() % (chains.length - 1))];
          const [action, resourceType] = AUDIT_ACTIONS[rand.u32() % AUDIT_ACTIONS.length];
          const r = rand.float();
          await write(
            line([
              uuid7(at, rand),
              iso(at),
              chain.org,
              chain === chains[0] ? actors[rand.u32() % actors.length] : uuid7(at, rand),
              action,
              resourceType ?? N,
              resourceType ? uuid7(at - DAY, rand) : N,
              r < 0.95 ? 'success' : r < 0.98 ? 'failure' : 'denied',
              ips[rand.u32() % ips.length],
              'Mozilla/5.0 (bench)',
              hex8(rand.u32()) + hex8(rand.u32()),
              action.endsWith('update') ? '{"after": {"status": "active"}, "before": {"status": "lead"}}' : N,
              N,
              chain.key,
            ]),
          );
        }
      },
    );
    // Their links (audit_chain_links): seq in occurred_at order per chain, each hash a stand-in that the
    // next link's prev_hash repeats (the bench never verifies these chains). Only the generated chains: the
    // entries the app wrote itself (the owner's registration) stay pending for the worker's chainer, which
    // starts the organization's chain at its head; a link of its own chain without that head would make every
    // later batch collide with it (version 3; version 2 datasets did that and left the app's chain stuck).
    log('  linking the audit chains');
    await db.query("SET work_mem = '256MB'");
    await db.query(`
      INSERT INTO audit_chain_links (chain_key, seq, entry_id, occurred_at, prev_hash, hash)
      SELECT chain_key, row_number() OVER w, id, occurred_at, lag(hash) OVER w, hash
        FROM (SELECT chain_key, id, occurred_at, md5(id::text) || md5(occurred_at::text) AS hash
                FROM audit_logs WHERE chain_key LIKE 'bench:%') e
      WINDOW w AS (PARTITION BY chain_key ORDER BY occurred_at, id)`);
    await db.query('RESET work_mem');

    log(`  rebuilding ${dropped.length} indexes`);
    let indexStart = performance.now();
    // One core for index builds (no parallel workers): other work shares the machine.
    await db.query("SET maintenance_work_mem = '256MB'");
    await db.query('SET max_parallel_maintenance_workers = 0');
    for (const definition of dropped) await db.query(definition);
    log(`  indexes rebuilt in ${((performance.now() - indexStart) / 1000).toFixed(0)} s; VACUUM ANALYZE`);
    indexStart = performance.now();
    for (const table of [
      'departments',
      'users',
      'role_assignments',
      'customers',
      'posts',
      'post_slugs',
      'audit_logs',
      'audit_chain_links',
    ]) {
      await db.query(`VACUUM (ANALYZE) ${table}`);
    }
    log(`  vacuumed and analyzed in ${((performance.now() - indexStart) / 1000).toFixed(0)} s`);

    const state = {
      database: sizes.database,
      organizationId,
      organizationSlug,
      owner: { id: owner.id, ...OWNER },
      member: {
        id: memberId,
        ...MEMBER,
        departmentId: memberDepartment.id,
        departmentPath: memberDepartment.path,
        subtreeDepartments: memberSubtree.length,
      },
      loginUsers: { emails: loginEmails, password: LOGIN_PASSWORD },
      departments: tree.length,
      users: sizes.users + LOGIN_USERS + 2,
      assignments: assignments.length,
      auditWindow: { from: iso(auditFrom), to: iso(auditTo), ownShare: AUDIT_OWN_SHARE },
      customersWindow: { from: iso(customerFrom), to: iso(now - DAY) },
      firstPost,
      generatedAt: iso(now),
    };
    const seconds = (performance.now() - started) / 1000;
    await db.query('CREATE TABLE bench_dataset (key text PRIMARY KEY, value jsonb NOT NULL)');
    await db.query("INSERT INTO bench_dataset (key, value) VALUES ('dataset', $1)", [
      JSON.stringify({ fingerprint: fingerprintOf(sizes), state, generatedAt: iso(now), seconds }),
    ]);
    return { state, seconds };
  } finally {
    await db.end();
  }
}

/**
 * The dataset for `mode` ('full' or 'quick'), generated when missing or different. Generation runs in a
 * child process under `nice -n 10` (this file's CLI), so the machine stays usable for other work; `redisPrefix`
 * is the Redis key prefix of the API it starts to migrate. The built API must exist (bench/run.mjs builds first).
 */
export async function ensureDataset({ mode, force = false, redisPrefix }) {
  const sizes = SIZES[mode];
  const url = databaseUrl(sizes.database);
  const found = force ? { reason: 'forced' } : await check(sizes, url);
  if (found.state) {
    log(`dataset: reusing ${sizes.database} (generated ${found.generatedAt} in ${Math.round(found.seconds)} s)`);
    return { url, sizes, state: found.state, reused: true, seconds: 0 };
  }
  log(`dataset: generating ${sizes.database} (${found.reason}); log in var/bench-logs/dataset-${mode}.log`);
  await runCommand('nice', ['-n', '10', process.execPath, join(ROOT, 'bench/dataset.mjs'), '--generate', mode], {
    label: `dataset-${mode}`,
    timeoutMs: 120 * 60_000,
    env: { BENCH_REDIS_PREFIX: redisPrefix ?? '' },
  });
  const made = await check(sizes, url);
  if (!made.state)
    throw new Error(`dataset generation finished, but ${sizes.database} does not check out: ${made.reason}`);
  log(`dataset: ${sizes.database} generated in ${Math.round(made.seconds)} s`);
  return { url, sizes, state: made.state, reused: false, seconds: made.seconds };
}

async function check(sizes, url) {
  if (!(await databaseExists(sizes.database))) return { reason: 'no database' };
  return reusable(url, fingerprintOf(sizes));
}

/** The environment of the bench API and worker processes (on top of the caller's). */
export function apiEnvironment({ redisPrefix, databaseUrl: url, extra = {} } = {}) {
  return {
    NODE_ENV: 'development',
    LOG_LEVEL: 'warn',
    ...(url ? { DATABASE_URL: url } : {}),
    DB_MIGRATE_ON_START: 'false',
    DB_POOL_SIZE: '10',
    SEED_DEMO: 'false',
    REDIS_KEY_PREFIX: redisPrefix ?? `atrium-bench-${process.pid}:`,
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_AUTH_MAX: '100000',
    METRICS_ENABLED: 'false',
    QUEUE_DASHBOARD_ENABLED: 'false',
    BCRYPT_COST: String(LOGIN_BCRYPT_COST),
    JWT_ACCESS_TTL_SECONDS: '86400',
    ...BENCH_SECRETS,
    ...extra,
  };
}

// CLI: `node bench/dataset.mjs [--quick] [--force]` ensures the dataset (generating it niced if needed);
// `--generate <mode>` generates in this process (what ensureDataset runs, niced).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { stopAll } = await import('./harness.mjs');
  try {
    const generateIndex = process.argv.indexOf('--generate');
    if (generateIndex > 0) {
      const sizes = SIZES[process.argv[generateIndex + 1]];
      const apiEnv = apiEnvironment({ redisPrefix: process.env.BENCH_REDIS_PREFIX || undefined });
      const { seconds } = await generate(sizes, databaseUrl(sizes.database), apiEnv);
      log(`dataset: ${sizes.database} generated in ${Math.round(seconds)} s`);
    } else {
      const mode = process.argv.includes('--quick') ? 'quick' : 'full';
      const dataset = await ensureDataset({ mode, force: process.argv.includes('--force') });
      console.log(JSON.stringify(dataset.state, null, 2));
    }
  } finally {
    await stopAll();
  }
}
