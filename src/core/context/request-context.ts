import { AsyncLocalStorage } from 'node:async_hooks';

/** What the current unit of work (an HTTP request or a job) is, for logs, jobs and (later) audit rows. */
export interface RequestContext {
  requestId: string;
  userId?: string;
  /** The caller's address and user agent (HTTP only), for audit entries written away from the request. */
  ip?: string;
  userAgent?: string;
  /** Set while a worker runs a job. */
  jobId?: string;
  queue?: string;
}

const storage = new AsyncLocalStorage<RequestContext>();

export function runWithContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn);
}

export function currentContext(): RequestContext | undefined {
  return storage.getStore();
}
