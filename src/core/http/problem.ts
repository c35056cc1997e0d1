import { STATUS_CODES } from 'node:http';

/** Problem types are URNs: stable identifiers that need no hosted page. */
export const PROBLEM_TYPE_PREFIX = 'urn:atrium:problem:';

export interface ProblemDocument {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  [extension: string]: unknown;
}

export function problemType(code: string): string {
  return `${PROBLEM_TYPE_PREFIX}${code}`;
}

export function statusTitle(status: number): string {
  return STATUS_CODES[status] ?? 'Error';
}

/** A code for plain HTTP statuses, e.g. 404 -> "not-found". */
export function statusCode(status: number): string {
  return statusTitle(status)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

interface ProblemTarget {
  request: { id: unknown; url: string };
  reply: {
    sent: boolean;
    status(code: number): ProblemTarget['reply'];
    header(name: string, value: string): ProblemTarget['reply'];
    send(body: unknown): unknown;
  };
}

/** Writes a problem+json response; the one place the body shape is built. */
export function sendProblem(
  { request, reply }: ProblemTarget,
  problem: { status: number; code: string; detail: string; extensions?: Record<string, unknown> },
): void {
  if (reply.sent) return;
  const body: ProblemDocument = {
    type: problemType(problem.code),
    title: statusTitle(problem.status),
    status: problem.status,
    detail: problem.detail,
    instance: request.url.split('?')[0],
    requestId: String(request.id),
    ...problem.extensions,
  };
  void reply.status(problem.status).header('content-type', 'application/problem+json; charset=utf-8').send(body);
}
