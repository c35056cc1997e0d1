// Shared pieces of the bench scripts: a throwaway database, the API as a real process, autocannon runs.
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const { Client } = require('pg');
export const ROOT = new URL('..', import.meta.url).pathname;
const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function withDatabase(name, fn) {
  const admin = new Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    return await fn(url.toString());
  } finally {
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

/**
 * Node's arguments for a TypeScript entry (relative to the repo). Under `npm run bench` (BENCH_BUILD_DIR set,
 * the build just made) the compiled entry runs instead: ts-node keeps the TypeScript compiler resident
 * (~400 MB), which swamps what a bench of memory measures.
 */
export function entryArgs(entry) {
  const built = process.env.BENCH_BUILD_DIR && join(process.env.BENCH_BUILD_DIR, entry.replace(/\.ts$/, '.js'));
  return built && entry.endsWith('.ts') && existsSync(built)
    ? [built]
    : ['-r', 'ts-node/register/transpile-only', join(ROOT, entry)];
}

/** Starts a TypeScript entry as a real process (entryArgs); resolves with its port once it prints READY <port>. */
export function startServer(entry, env) {
  const child = spawn(process.execPath, entryArgs(entry), {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const match = /READY (\d+)/.exec(out);
      if (match) resolve({ child, url: `http://127.0.0.1:${match[1]}` });
    });
    child.on('exit', (code) => reject(new Error(`${entry} exited with ${code}`)));
  });
}

export function benchEnv(databaseUrl, extra = {}) {
  return {
    NODE_ENV: 'development',
    DATABASE_URL: databaseUrl,
    // bench/run.mjs passes its own prefix, so it can delete what the scripts it spawns leave in Redis.
    REDIS_KEY_PREFIX: process.env.BENCH_REDIS_KEY_PREFIX || `atrium-bench-${randomBytes(3).toString('hex')}:`,
    DB_MIGRATE_ON_START: 'true',
    SEED_DEMO: 'false',
    RATE_LIMIT_MAX: '1000000',
    RATE_LIMIT_AUTH_MAX: '100000',
    METRICS_ENABLED: 'false',
    ...extra,
  };
}

/** One autocannon run on loopback, bounded in time; returns req/s and latency percentiles. */
export async function load(options) {
  const result = await autocannon({ connections: 10, duration: 5, ...options });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${options.url}: ${result.non2xx} non-2xx and ${result.errors} errors`);
  }
  return { reqPerSec: result.requests.average, p50: result.latency.p50, p99: result.latency.p99 };
}

export function machine() {
  return { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version };
}

/** Into bench/results/, or BENCH_RESULTS_DIR when set (bench/run.mjs collects the scripts it spawns there). */
export function writeResult(name, result) {
  const dir = process.env.BENCH_RESULTS_DIR || join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${name}-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), ...result }, null, 2)}\n`,
  );
  return file;
}
