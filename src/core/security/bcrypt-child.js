'use strict';
// PasswordHasher's bcrypt process (started by bcrypt-process.ts with `detached: true`: a session of its own).
// Plain CommonJS so the same file runs under ts-node/jest (from src/) and from the build (tsc copies it to
// dist/ with allowJs), without a TypeScript loader.
//
// argv[2]: the niceness (0 to 19). UV_THREADPOOL_SIZE (set by the parent): how many compares run at once.
// Messages: `{ id, op: 'hash', data, cost }` or `{ id, op: 'compare', data, hash }`, answered with
// `{ id, ok: true, value }` or `{ id, ok: false, message }`, after a first `{ ready: true, info }`.
const { readFileSync, readdirSync, writeFileSync } = require('node:fs');
const { setPriority } = require('node:os');

// Never outlive the API: when its end of the IPC channel closes (it exited, crashed or was SIGKILLed: the
// kernel closes the socket either way) there is nobody left to answer.
process.on('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0);
// Nor end before it: a service manager that signals every process of the service at once (systemd's default
// KillMode=control-group) would otherwise fail the logins the API is still finishing during its graceful
// shutdown and have it start a replacement. The API's shutdown closes the channel after its last request.
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => undefined);
process.title = 'atrium-bcrypt';

const niceness = Number(process.argv[2]);
const problems = new Set();
const messageOf = (error) => (error instanceof Error ? error.message : String(error));

/**
 * With autogroup scheduling (Linux's default on desktops and many servers: sched_autogroup_enabled = 1), the
 * CPU is first split between sessions and only then between the threads of one session by their nice value:
 * niced threads in the API's session would still take that session's whole share from PostgreSQL and any
 * other process. This process leads a session of its own; lowering its autogroup's priority makes the whole
 * group yield to every other one. Raising one's own autogroup niceness needs no privilege (see `man 7 sched`).
 */
function lowerAutogroup() {
  try {
    writeFileSync('/proc/self/autogroup', String(niceness));
  } catch (error) {
    // No autogroup support (kernel without CONFIG_SCHED_AUTOGROUP, not Linux) or refused: the threads'
    // own niceness below still orders them against everything in the same group.
    problems.add(`autogroup: ${messageOf(error)}`);
  }
}

/** Linux keeps a nice value per thread: every thread of this process, and those created later inherit it. */
function lowerThreads() {
  let tids;
  try {
    tids = readdirSync('/proc/self/task').map(Number);
  } catch (error) {
    problems.add(`threads: ${messageOf(error)}`);
    return;
  }
  for (const tid of tids) {
    try {
      setPriority(tid, niceness);
    } catch (error) {
      // A thread that ended meanwhile (ESRCH) has nothing left to lower.
      if (error && error.code !== 'ESRCH') problems.add(`thread ${tid}: ${messageOf(error)}`);
    }
  }
}

function readOr(path, fallback) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}

/** Field 19 of /proc/self/task/<tid>/stat: the thread's nice value (the name field may hold spaces). */
function threads() {
  return readdirSync('/proc/self/task').flatMap((name) => {
    const stat = readOr(`/proc/self/task/${name}/stat`, '');
    if (!stat) return [];
    return [{ tid: Number(name), niceness: Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3]) }];
  });
}

async function start() {
  if (niceness > 0) {
    lowerAutogroup();
    lowerThreads();
  }
  const bcrypt = require('bcrypt');
  // The first async call starts all UV_THREADPOOL_SIZE threads of libuv's pool (the main thread's niceness
  // is inherited); once more for any a platform did not let inherit it.
  await bcrypt.hash('warm-up', 4);
  if (niceness > 0) lowerThreads();

  process.on('message', ({ id, op, data, hash, cost }) => {
    const work =
      op === 'hash'
        ? bcrypt.hash(data, cost)
        : op === 'compare'
          ? bcrypt.compare(data, hash)
          : Promise.reject(new Error(`unknown bcrypt operation ${String(op)}`));
    work.then(
      (value) => process.send({ id, ok: true, value }),
      (error) => process.send({ id, ok: false, message: messageOf(error) }),
    );
  });

  const autogroup = readOr('/proc/self/autogroup', '').trim() || undefined;
  const info = {
    pid: process.pid,
    autogroup,
    threads: process.platform === 'linux' ? threads() : [],
    problems: [...problems],
  };
  process.send({ ready: true, info });
}

start().catch((error) => {
  process.stderr.write(`bcrypt process failed to start: ${messageOf(error)}\n`);
  process.exit(1);
});
