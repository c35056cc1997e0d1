import { Logger } from '@nestjs/common';
import { type ChildProcess, fork } from 'node:child_process';
import { join } from 'node:path';

/** Plain JS beside this file, in src/ and in the build alike (tsconfig.build.json copies it with allowJs). */
const SCRIPT = join(__dirname, 'bcrypt-child.js');

/** What the bcrypt process reported once started. */
export interface BcryptProcessInfo {
  pid: number;
  /** Its /proc/<pid>/autogroup line once lowered, e.g. `/autogroup-42 nice 19`; absent without autogroups. */
  autogroup?: string;
  /** Every thread of the process (libuv's pool included) with its nice value, on Linux. */
  threads: { tid: number; niceness: number }[];
  /** What could not be lowered, and why: the autogroup where there is none, threads where nice is refused. */
  problems: string[];
}

/** A hash or compare failed in the bcrypt process, or the process died (or was closed) before it answered. */
export class BcryptProcessError extends Error {
  override readonly name = 'BcryptProcessError';
}

export interface BcryptProcessOptions {
  /** Operations running at once: the size of the child's libuv pool; callers send no more than that. */
  size: number;
  niceness: number;
  /** The child script (tests substitute a broken one). */
  script?: string;
  /** Wait before replacing a process that died before it was ready, so a broken start cannot spin. */
  respawnDelayMs?: number;
  /** How long close() lets the process exit after its channel closes before it is killed. */
  killAfterMs?: number;
}

interface Call {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
}

interface Child {
  process: ChildProcess;
  ready: Promise<void>;
  info?: BcryptProcessInfo;
  calls: Map<number, Call>;
  exited: boolean;
}

type Reply =
  | { ready: true; info: BcryptProcessInfo }
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; message: string };

/**
 * bcrypt in a child process that leads a session of its own (`detached: true`), so it gets a scheduler
 * autogroup of its own, which it lowers to the configured niceness along with each of its threads
 * (bcrypt-child.js). With autogroups (the kernel's default) niced threads inside the API process only yield
 * to the API's own threads, and the API's group as a whole still takes an equal share against PostgreSQL;
 * a group of its own at nice 19 yields to every other process, and still gets all the CPU when nothing
 * else wants it. Without autogroups, the threads' niceness alone does the same.
 *
 * Compares run on bcrypt's async API over the child's libuv pool of `size` threads. The child exits when the
 * API does (its IPC channel closes, even on SIGKILL); a child that dies fails the calls in flight with
 * BcryptProcessError and is replaced. Idle, the child and its channel are unref'd: a BcryptProcess nobody
 * closed does not keep a process (or a test run) alive, while a call in flight does.
 */
export class BcryptProcess {
  private static readonly logger = new Logger('PasswordHasher');
  private child?: Child;
  private nextId = 0;
  private closed = false;
  private respawnTimer?: NodeJS.Timeout;
  /** Why the last process failed to start, while its replacement waits for respawnDelayMs. */
  private startError?: BcryptProcessError;
  private warned = false;

  constructor(private readonly options: BcryptProcessOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('size must be at least 1');
  }

  /** The running process, once ready. */
  get info(): BcryptProcessInfo | undefined {
    return this.child?.info;
  }

  /** Starts the process and resolves once it is ready; a failed first start rejects and closes. */
  async start(): Promise<void> {
    try {
      await this.current().ready;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  hash(data: string, cost: number): Promise<string> {
    return this.run<string>({ op: 'hash', data, cost });
  }

  /** False for a mismatch and for a malformed hash, as bcrypt.compare. */
  compare(data: string, hash: string): Promise<boolean> {
    return this.run<boolean>({ op: 'compare', data, hash });
  }

  /** Ends the process (waiting for it to exit); calls in flight and later ones reject with BcryptProcessError. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.respawnTimer);
    const child = this.child;
    this.child = undefined;
    if (!child) return;
    this.fail(child, this.closedError());
    await this.stop(child);
  }

  private async run<T>(task: Record<string, unknown>): Promise<T> {
    // Started on first use too, for callers outside a Nest lifecycle.
    const child = this.current();
    await child.ready;
    if (this.closed) throw this.closedError();
    if (child.exited) throw new BcryptProcessError('bcrypt process exited');
    return new Promise<T>((resolve, reject) => {
      const id = ++this.nextId;
      child.calls.set(id, { resolve: (value) => resolve(value as T), reject });
      this.hold(child, true);
      child.process.send({ ...task, id }, (error) => {
        if (!error || !child.calls.delete(id)) return;
        this.hold(child, child.calls.size > 0);
        reject(new BcryptProcessError(`bcrypt process unreachable: ${error.message}`));
      });
    });
  }

  /** The process to send to: the running one, or a new one; throws while a broken start waits to be retried. */
  private current(): Child {
    if (this.closed) throw this.closedError();
    if (this.child) return this.child;
    if (this.startError) throw this.startError;
    this.child = this.spawn();
    return this.child;
  }

  private spawn(): Child {
    const proc = fork(this.options.script ?? SCRIPT, [String(this.options.niceness)], {
      // setsid(): a session, hence an autogroup, of its own; also out of the API's process group, so a ^C
      // meant for the API does not reach it (it exits when the API does, through the channel).
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      // Nothing of the API's environment (secrets included) but the pool size; no inherited flags either.
      env: { UV_THREADPOOL_SIZE: String(this.options.size) },
      execArgv: [],
      serialization: 'json',
    });
    let settle!: { resolve: () => void; reject: (error: Error) => void };
    const child: Child = {
      process: proc,
      calls: new Map(),
      exited: false,
      ready: new Promise<void>((resolve, reject) => (settle = { resolve, reject })),
    };
    // Nobody may be waiting for it (a replacement started eagerly); the error reaches callers through run().
    child.ready.catch(() => undefined);
    // Held while starting (someone waits for it), then only while calls are in flight.
    this.hold(child, true);

    proc.on('message', (reply: Reply) => {
      if ('ready' in reply) {
        child.info = reply.info;
        this.checkPriority(reply.info);
        this.hold(child, child.calls.size > 0);
        settle.resolve();
        return;
      }
      const call = child.calls.get(reply.id);
      if (!call) return;
      child.calls.delete(reply.id);
      this.hold(child, child.calls.size > 0);
      if (reply.ok) call.resolve(reply.value);
      else call.reject(new BcryptProcessError(reply.message));
    });
    let spawnError: string | undefined;
    proc.on('error', (error) => {
      spawnError = error.message;
      // Not started at all (no 'exit' follows when spawn itself fails).
      if (proc.pid === undefined) this.exited(child, `could not start: ${error.message}`, settle.reject);
    });
    proc.once('exit', (code, signal) => {
      const how = signal ? `signal ${signal}` : `code ${code}`;
      this.exited(child, `exited with ${how}${spawnError ? `: ${spawnError}` : ''}`, settle.reject);
    });
    return child;
  }

  private exited(child: Child, how: string, rejectReady: (error: Error) => void): void {
    if (child.exited) return;
    child.exited = true;
    const error = new BcryptProcessError(`bcrypt process ${how}`);
    this.fail(child, this.closed ? this.closedError() : error);
    rejectReady(this.closed ? this.closedError() : error);
    if (this.closed || this.child !== child) return;
    this.child = undefined;
    if (child.info) {
      // It ran before: a crash, not a broken start. Replaced now, so the next call does not wait for it.
      this.child = this.spawn();
      return;
    }
    // It never started: the next one may not either. Calls fail fast meanwhile rather than wait for it.
    this.startError = error;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      this.startError = undefined;
    }, this.options.respawnDelayMs ?? 1000).unref();
  }

  private fail(child: Child, error: BcryptProcessError): void {
    for (const call of child.calls.values()) call.reject(error);
    child.calls.clear();
  }

  private async stop(child: Child): Promise<void> {
    if (child.exited) return;
    const exited = new Promise<void>((resolve) => child.process.once('exit', () => resolve()));
    // Closing the channel is the child's signal to exit (as when the API dies); a child that does not, is killed.
    if (child.process.connected) child.process.disconnect();
    else child.process.kill('SIGKILL');
    const timer = setTimeout(() => child.process.kill('SIGKILL'), this.options.killAfterMs ?? 2000);
    await exited;
    clearTimeout(timer);
  }

  /** Keeps this process alive while calls are in flight, and lets it exit when the child is idle. */
  private hold(child: Child, busy: boolean): void {
    if (busy) {
      child.process.ref();
      child.process.channel?.ref();
    } else {
      child.process.unref();
      child.process.channel?.unref();
    }
  }

  private closedError(): BcryptProcessError {
    return new BcryptProcessError('bcrypt process is closed');
  }

  private checkPriority(info: BcryptProcessInfo): void {
    if (this.options.niceness === 0 || info.problems.length === 0 || this.warned) return;
    // Once: every replacement fails the same way on the same platform.
    this.warned = true;
    BcryptProcess.logger.warn(
      `bcrypt process priority only partly lowered (BCRYPT_NICENESS=${this.options.niceness}: ${info.problems.join('; ')}); a login flood may slow other work`,
    );
  }
}
