import type { JobsOptions, Queue } from 'bullmq';
import { currentContext } from '../context/request-context';
import { QueueException } from './queue.exception';

/** What every job carries besides its payload: the request that caused it, for logs and audit. */
export interface JobEnvelope<P> {
  payload: P;
  requestId: string | null;
}

/** QUEUE_ENQUEUE_TIMEOUT_MS; set by QueueModule from the configuration. */
let enqueueTimeoutMs = 2000;

export function configureEnqueue(options: { timeoutMs: number }): void {
  enqueueTimeoutMs = options.timeoutMs;
}

/**
 * Whether the queue's Redis connection is up right now, without waiting: BullMQ's own connection queues
 * commands while it reconnects (its workers need that), so an `add` would otherwise wait for Redis to come
 * back, holding the request.
 */
export async function isQueueConnected(queue: Queue): Promise<boolean> {
  const notYet = Symbol('not connected yet');
  try {
    // An already-settled client promise wins the race; one still connecting (Redis down at start) loses.
    const client = await Promise.race([queue.backend.client, Promise.resolve(notYet)]);
    return client !== notYet && client.status === 'ready';
  } catch {
    return false;
  }
}

/**
 * Fails fast (503 queue-unavailable) while the queue's Redis is down. Services whose request exists to start
 * a job call it before their transaction, so that an outage refuses the request with nothing changed rather
 * than committing work whose job could not be queued.
 */
export async function assertQueueAvailable(queue: Queue): Promise<void> {
  if (!(await isQueueConnected(queue))) throw QueueException.unavailable(queue.name);
}

/** The envelope of a job started by the current request (or job): its request id travels with it. */
export function envelope<P>(payload: P): JobEnvelope<P> {
  return { payload, requestId: currentContext()?.requestId ?? null };
}

/**
 * Enqueues with the current request id, so the worker's log lines for the job carry it too. Fails fast:
 * at once while Redis is known to be down, after QUEUE_ENQUEUE_TIMEOUT_MS when it does not answer — never a
 * request hanging on Redis. (A timed-out `add` may still land later; jobs whose duplicates would matter
 * carry a deterministic `jobId`, which BullMQ keeps unique.) Work committed to PostgreSQL uses JobOutbox
 * instead, which cannot lose the job.
 */
export async function enqueue<P>(queue: Queue, name: string, payload: P, options?: JobsOptions): Promise<string> {
  await assertQueueAvailable(queue);
  return addJob(queue, name, envelope(payload), options);
}

/** `queue.add`, bounded by QUEUE_ENQUEUE_TIMEOUT_MS (503 queue-unavailable past it). */
export async function addJob<P>(
  queue: Queue,
  name: string,
  data: JobEnvelope<P>,
  options?: JobsOptions,
): Promise<string> {
  const adding = queue.add(name, data, options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(QueueException.unavailable(queue.name)), enqueueTimeoutMs);
  });
  try {
    const job = await Promise.race([adding, timeout]);
    return job.id ?? '';
  } finally {
    clearTimeout(timer);
    // Lost the race: its eventual failure must not become an unhandled rejection.
    adding.catch(() => undefined);
  }
}
