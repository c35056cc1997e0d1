import { hostname } from 'node:os';
import { spawnTs, type SpawnedProcess } from '../../helpers/spawn-process';

export interface RunningProcess {
  proc: SpawnedProcess;
  pid: number;
  /** `host:pid`, as a worker records it (system pings' processedBy). */
  workerId: string;
}

export interface RunningApi extends RunningProcess {
  url: string;
}

const started = new Set<SpawnedProcess>();

/** Settings every process of the fault suites runs with (on top of this run's environment). */
const BASE_ENV: Record<string, string> = {
  SEED_DEMO: 'false',
  DB_MIGRATE_ON_START: 'false',
  LOG_LEVEL: 'info',
  LOG_FORMAT: 'json',
};

function isRunning(proc: SpawnedProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

/** The API (src/main.ts) as its own process on a free loopback port; resolves once it listens. */
export async function startApi(env: Record<string, string> = {}): Promise<RunningApi> {
  const proc = spawnTs('src/main.ts', { ...BASE_ENV, PORT: '0', HOST: '127.0.0.1', ...env });
  started.add(proc);
  const [, port] = await proc.waitForOutput(/API listening on http:\/\/[^:/]+:(\d+)/, 60_000);
  const pid = proc.child.pid ?? 0;
  return { proc, pid, workerId: `${hostname()}:${pid}`, url: `http://127.0.0.1:${port}` };
}

/** The worker (src/worker.ts) as its own process; resolves once its processors run. */
export async function startWorker(env: Record<string, string> = {}): Promise<RunningProcess> {
  const proc = spawnTs('src/worker.ts', { ...BASE_ENV, ...env });
  started.add(proc);
  await proc.waitForOutput(/worker started/, 60_000);
  const pid = proc.child.pid ?? 0;
  return { proc, pid, workerId: `${hostname()}:${pid}` };
}

/** Sends `signal` and resolves with the exit code once the process is gone, and how long that took. */
export async function signalAndWait(
  running: RunningProcess,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }> {
  const since = Date.now();
  if (isRunning(running.proc)) running.proc.child.kill(signal);
  const exit = await running.proc.exited;
  return { ...exit, ms: Date.now() - since };
}

/** Kills (SIGKILL) these processes if they still run. */
export async function kill(...processes: RunningProcess[]): Promise<void> {
  const running = processes.filter((p) => isRunning(p.proc));
  for (const p of running) p.proc.child.kill('SIGKILL');
  await Promise.all(running.map((p) => p.proc.exited));
}

/** Kills (SIGKILL) every process started here that still runs; for afterAll/afterEach, also after failures. */
export async function killAll(): Promise<void> {
  const running = [...started].filter(isRunning);
  for (const proc of running) proc.child.kill('SIGKILL');
  await Promise.all(running.map((proc) => proc.exited));
  started.clear();
}

/** JSON log lines a process wrote to stdout. */
export function logLines(running: RunningProcess): Record<string, unknown>[] {
  return running.proc
    .stdout()
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// Last resort: a crashed Jest run must not leave app processes behind.
process.once('exit', () => {
  for (const proc of started) if (isRunning(proc)) proc.child.kill('SIGKILL');
});
