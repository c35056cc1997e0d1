// `npm start`: the one command that brings up Atrium on a developer machine. It creates the database when
// it is missing, starts the API (which migrates on start), waits until it is live, then starts the worker.
// Both run as separate processes, as in production; Ctrl-C or SIGTERM stops both gracefully.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const { loadConfigOrExit } = require('../dist/src/config/load-config.js');
const { Client } = require('pg');

const config = loadConfigOrExit();

/** The API's node flags are those of `npm run start:api`, so the two ways to start it cannot drift apart. */
function apiNodeFlags() {
  const { scripts } = require('../package.json');
  return scripts['start:api'].split(/\s+/).filter((word) => word.startsWith('--'));
}

async function ensureDatabase(url) {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (!rowCount) {
      await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      console.log(`[start] created database ${name}`);
    }
  } finally {
    await client.end();
  }
}

const children = new Set();
let stopping = false;

function run(name, entry, flags = []) {
  const child = spawn(process.execPath, [...flags, entry], { stdio: 'inherit', env: process.env });
  children.add(child);
  child.on('exit', (code, signal) => {
    children.delete(child);
    if (!stopping) {
      console.error(`[start] ${name} exited (${signal ?? code}); stopping the rest`);
      stop(code || 1);
    } else if (children.size === 0) {
      process.exit(process.exitCode ?? 0);
    }
  });
  return child;
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  process.exitCode = code;
  if (children.size === 0) process.exit(code);
  for (const child of children) child.kill('SIGTERM');
}

process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

async function waitUntilLive(port) {
  for (let i = 0; i < 120 && !stopping; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health/live`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(500);
  }
  throw new Error('the API did not become live within 60 s');
}

try {
  await ensureDatabase(config.db.url);
} catch (error) {
  console.error(`[start] cannot reach PostgreSQL (${error.message}); is it running on the DATABASE_URL host?`);
  process.exit(1);
}
run('api', 'dist/src/main.js', apiNodeFlags());
await waitUntilLive(config.http.port);
if (!stopping) {
  run('worker', 'dist/src/worker.js');
  console.log(
    `[start] Atrium is up: API http://localhost:${config.http.port}/api/v1, docs http://localhost:${config.http.port}/docs`,
  );
}
