import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** The name the test database gives EICAR; clamd reports it as `Atrium.Test.EICAR.UNOFFICIAL`. */
export const EICAR_SIGNATURE = 'Atrium.Test.EICAR';

export const CLAMD_MISSING = 'clamd is not installed (apt-get install clamav-daemon)';

export interface ClamdOptions {
  /** clamd's StreamMaxLength (and MaxFileSize, MaxScanSize); 64 MiB when omitted. */
  streamMaxBytes?: number;
  /** Also listen on a unix socket (`socketPath`). */
  unixSocket?: boolean;
}

export interface ClamdHandle {
  host: string;
  port: number;
  /** Set when started with `unixSocket`. */
  socketPath?: string;
  /** clamd's log file so far, for failure messages. */
  log(): Promise<string>;
  /** Kills clamd and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

const DEFAULT_STREAM_MAX_BYTES = 64 * 1024 * 1024;
const READY_TIMEOUT_MS = 60_000;
/** A port picked as free can be taken before clamd binds it; then clamd exits and we pick another. */
const BIND_ATTEMPTS = 3;

/** Killed and removed when the test process exits, whether or not the spec's afterAll got to run. */
const leftovers = new Map<ChildProcess, string>();
let exitHookInstalled = false;

/**
 * The EICAR test string, assembled at run time: a source file holding it whole would be quarantined by
 * antivirus software on developer machines.
 */
export function eicar(): Buffer {
  return Buffer.from(['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*'].join(''), 'latin1');
}

/** The clamd executable, or null when it is not installed. /usr/sbin is often missing from a user's PATH. */
export function findClamd(): string | null {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs.filter(Boolean)) {
    const candidate = join(dir, 'clamd');
    if (isExecutable(candidate)) return candidate;
  }
  return null;
}

/**
 * A real clamd on a free port of 127.0.0.1, in a temp directory of its own, whose only signature detects
 * EICAR (the official databases are never downloaded). Resolves once clamd answers PING; null only when
 * clamd is not installed, so the calling spec can skip visibly.
 */
export async function startClamd(options: ClamdOptions = {}): Promise<ClamdHandle | null> {
  const binary = findClamd();
  if (!binary) return null;
  const dir = await mkdtemp(join(tmpdir(), 'atrium-clamd-'));
  try {
    await writeFile(join(dir, 'test.ndb'), `${EICAR_SIGNATURE}:0:*:${eicar().toString('hex')}\n`);
    for (let attempt = 1; attempt <= BIND_ATTEMPTS; attempt++) {
      const handle = await launch(binary, dir, await freePort(), options);
      if (handle !== 'port taken') return handle;
    }
    throw new Error(`clamd could not bind a free port in ${BIND_ATTEMPTS} attempts`);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

async function launch(
  binary: string,
  dir: string,
  port: number,
  options: ClamdOptions,
): Promise<ClamdHandle | 'port taken'> {
  const logFile = join(dir, 'clamd.log');
  const socketPath = options.unixSocket ? join(dir, 'clamd.sock') : undefined;
  const limit = options.streamMaxBytes ?? DEFAULT_STREAM_MAX_BYTES;
  const config = [
    `DatabaseDirectory ${dir}`,
    `TemporaryDirectory ${dir}`,
    `LogFile ${logFile}`,
    'Foreground yes',
    `TCPSocket ${port}`,
    'TCPAddr 127.0.0.1',
    ...(socketPath ? [`LocalSocket ${socketPath}`] : []),
    `StreamMaxLength ${limit}`,
    `MaxFileSize ${limit}`,
    `MaxScanSize ${limit}`,
    'AlertExceedsMax yes',
    // clamd run by root switches to User (default clamav, which cannot read this directory); as anyone else
    // it stays who it is and User must be absent.
    ...(process.getuid?.() === 0 ? ['User root'] : []),
  ];
  const configFile = join(dir, 'clamd.conf');
  await writeFile(configFile, `${config.join('\n')}\n`);
  await rm(logFile, { force: true });

  const child = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
  leftovers.set(child, dir);
  installExitHook();
  let output = '';
  const collect = (chunk: Buffer): void => {
    output = (output + chunk.toString()).slice(-10_000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const hasExited = (): boolean => spawnError !== undefined || child.exitCode !== null || child.signalCode !== null;
  const log = (): Promise<string> => readFile(logFile, 'utf8').catch(() => '');

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (!hasExited()) {
      const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
      child.kill('SIGTERM');
      await exited;
      clearTimeout(kill);
    }
    leftovers.delete(child);
    await rm(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited()) {
      const text = `${await log()}${output}${spawnError ? `\n${spawnError.message}` : ''}`;
      leftovers.delete(child);
      if (/bind/i.test(text) && /address already in use/i.test(text)) return 'port taken';
      throw new Error(`clamd exited before answering PING:\n${text}`);
    }
    if (await answersPing(port)) return { host: '127.0.0.1', port, socketPath, log, stop };
    await sleep(200);
  }
  const text = (await log()) + output;
  await stop();
  throw new Error(`clamd did not answer PING within ${READY_TIMEOUT_MS} ms:\n${text}`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let reply = '';
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(1000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('data', (data: Buffer) => {
      reply += data.toString();
      if (reply.includes('\0')) done(reply === 'PONG\0');
    });
    socket.on('close', () => done(false));
    socket.write('zPING\0');
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const [child, dir] of leftovers) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
