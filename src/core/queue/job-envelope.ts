import type { JobsOptions, Queue } from 'bullmq';
import { currentContext } from '../context/request-context';

/** What every job carries besides its payload: the request that caused it, for logs and audit. */
export interface JobEnvelope<P> {
  payload: P;
  requestId: string | null;
}

/** Enqueues with the current request id, so the worker's log lines for the job carry it too. */
export async function enqueue<P>(queue: Queue, name: string, payload: P, options?: JobsOptions): Promise<string> {
  const data: JobEnvelope<P> = { payload, requestId: currentContext()?.requestId ?? null };
  const job = await queue.add(name, data, options);
  return job.id ?? '';
}
