import { Worker } from 'node:worker_threads';

/** What a thread reported once started: its OS thread id and the niceness it runs at (see thread-priority.js). */
export interface ThreadInfo {
  threadId: number;
  tid?: number;
  niceness: number;
  /** Why the thread could not lower its priority, when it could not. */
  problem?: string;
}

/** A task failed in its thread, or the thread died (or the pool closed) before it answered. */
export class WorkerThreadError extends Error {
  override readonly name = 'WorkerThreadError';
}

export interface WorkerPoolOptions {
  /** For error messages and thread names. */
  name: string;
  /**
   * Absolute path of a plain CommonJS script. It first posts `{ ready: true, tid?, niceness, problem? }`, then
   * answers each `{ id, ...task }` with `{ id, ok: true, value }` or `{ id, ok: false, message }`.
   */
  script: string;
  size: number;
  workerData?: unknown;
  /** Once per thread started, replacements included. */
  onReady?: (info: ThreadInfo) => void;
  /** Wait before replacing a thread that died before it was ready, so a broken script cannot spin. */
  respawnDelayMs?: number;
}

interface Job {
  task: Record<string, unknown>;
  resolve(value: unknown): void;
  reject(error: Error): void;
}

interface Slot {
  worker: Worker;
  info?: ThreadInfo;
  job?: Job & { id: number };
  /** The message of the thread's uncaught error ('exit' follows it). */
  error?: string;
}

type Reply = { ready: true; tid?: number; niceness: number; problem?: string } | ReplyToTask;
type ReplyToTask = { id: number; ok: true; value: unknown } | { id: number; ok: false; message: string };

/**
 * A fixed number of worker threads, one task each at a time; callers bound how many tasks they send (the
 * rest wait here in order). A thread that dies fails its task with WorkerThreadError instead of leaving it
 * pending, and is replaced. Idle threads are unref'd: a pool that nobody closed does not keep a process (or a
 * test run) alive, while a task in flight does.
 */
export class WorkerPool {
  private readonly slots = new Set<Slot>();
  private readonly queue: Job[] = [];
  private nextId = 0;
  private starting?: Promise<void>;
  private closed = false;
  private respawnTimer?: NodeJS.Timeout;

  constructor(private readonly options: WorkerPoolOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) throw new RangeError('size must be at least 1');
  }

  /** Threads running now (replacements included once ready). */
  get threads(): ThreadInfo[] {
    return [...this.slots].flatMap((slot) => (slot.info ? [slot.info] : []));
  }

  /** Starts every thread and resolves when all are ready; a thread that fails to start rejects and closes the pool. */
  start(): Promise<void> {
    if (this.closed) return Promise.reject(new WorkerThreadError(`${this.options.name} threads are closed`));
    this.starting ??= Promise.all(Array.from({ length: this.options.size }, () => this.spawn())).then(
      () => undefined,
      async (error: unknown) => {
        await this.close();
        throw error;
      },
    );
    return this.starting;
  }

  run<T>(task: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new WorkerThreadError(`${this.options.name} threads are closed`));
    // Started on first use too, for callers outside a Nest lifecycle; a failed start rejects the queue in close().
    this.start().catch(() => undefined);
    return new Promise<T>((resolve, reject) => {
      const job: Job = { task, resolve, reject };
      const idle = [...this.slots].find((slot) => !slot.job);
      if (idle) this.dispatch(idle, job);
      else this.queue.push(job);
    });
  }

  /** Terminates every thread; tasks in flight or waiting reject with WorkerThreadError. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.respawnTimer);
    this.rejectQueue(`${this.options.name} threads are closed`);
    await Promise.all([...this.slots].map((slot) => slot.worker.terminate()));
  }

  private spawn(): Promise<void> {
    const worker = new Worker(this.options.script, {
      name: this.options.name,
      workerData: this.options.workerData,
    });
    const slot: Slot = { worker };
    this.slots.add(slot);
    return new Promise<void>((resolve, reject) => {
      worker.on('message', (reply: Reply) => {
        if ('ready' in reply) {
          slot.info = { threadId: worker.threadId, tid: reply.tid, niceness: reply.niceness, problem: reply.problem };
          this.options.onReady?.(slot.info);
          resolve();
          this.next(slot);
        } else {
          this.settle(slot, reply);
        }
      });
      worker.on('error', (error: unknown) => {
        // Not `instanceof Error`: the error may come from another realm (jest's VM contexts).
        const message = (error as { message?: unknown } | null)?.message;
        slot.error = typeof message === 'string' ? message : String(error);
      });
      worker.once('exit', (code) => {
        const cause = slot.error ? `: ${slot.error}` : '';
        const error = new WorkerThreadError(`${this.options.name} thread exited with code ${code}${cause}`);
        this.slots.delete(slot);
        slot.job?.reject(this.closed ? new WorkerThreadError(`${this.options.name} threads are closed`) : error);
        slot.job = undefined;
        if (!slot.info) reject(error);
        if (!this.closed) this.replace(slot, error);
      });
    });
  }

  private replace(dead: Slot, error: WorkerThreadError): void {
    if (dead.info) {
      // It ran before: a crash, not a broken script. Queued tasks go to the replacement.
      this.spawn().catch(() => undefined);
      const fresh = [...this.slots].find((slot) => !slot.job);
      if (fresh) this.next(fresh);
      return;
    }
    // It never started: the next one may not either. Nothing waits for a thread that may never come.
    if (![...this.slots].some((slot) => slot.info)) this.rejectQueue(error.message);
    if (this.respawnTimer) return;
    this.respawnTimer = setTimeout(() => {
      this.respawnTimer = undefined;
      if (this.closed) return;
      for (let i = this.slots.size; i < this.options.size; i++) this.spawn().catch(() => undefined);
    }, this.options.respawnDelayMs ?? 1000).unref();
  }

  private dispatch(slot: Slot, job: Job): void {
    const id = ++this.nextId;
    slot.job = { ...job, id };
    slot.worker.ref();
    slot.worker.postMessage({ ...job.task, id });
  }

  private settle(slot: Slot, reply: ReplyToTask): void {
    const job = slot.job;
    if (!job || job.id !== reply.id) return;
    slot.job = undefined;
    if (reply.ok) job.resolve(reply.value);
    else job.reject(new WorkerThreadError(reply.message));
    this.next(slot);
  }

  /** Gives the slot the next waiting task, or lets the process exit without it while it is idle. */
  private next(slot: Slot): void {
    if (slot.job) return;
    const job = this.queue.shift();
    if (job) this.dispatch(slot, job);
    else slot.worker.unref();
  }

  private rejectQueue(message: string): void {
    for (const job of this.queue.splice(0)) job.reject(new WorkerThreadError(message));
  }
}
