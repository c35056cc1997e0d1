import type { LightMyRequestResponse } from 'fastify';

/**
 * The response is an RFC 9457 problem document (any code) of this status, with the request id, and without
 * internals: no stack trace, no SQL.
 */
export function expectProblemOf(res: LightMyRequestResponse, status: number | number[], context: string): void {
  const statuses = Array.isArray(status) ? status : [status];
  if (!statuses.includes(res.statusCode)) {
    throw new Error(`${context}: expected ${statuses.join(' or ')}, got ${res.statusCode} ${res.body.slice(0, 500)}`);
  }
  expect({ context, contentType: res.headers['content-type'] }).toEqual({
    context,
    contentType: expect.stringMatching(/^application\/problem\+json/),
  });
  const body = res.json<Record<string, unknown>>();
  expect(body).toMatchObject({ status: res.statusCode, type: expect.stringMatching(/^urn:atrium:problem:/) });
  expect(body.requestId).toBe(res.headers['x-request-id']);
  expectNoInternals(res.body, context);
}

/** Text a database or runtime error would leak: SQL, driver and ORM names, stack frames. */
const INTERNALS = [
  /\bSELECT\b[\s\S]*\bFROM\b/i,
  /\b(INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b/i,
  /syntax error at or near/i,
  /QueryFailedError|TypeORMError|PostgresError|\bpg_\w+/,
  /invalid input syntax for/i,
  /\bat \S+ \(\/[^)]+:\d+:\d+\)/,
  /node_modules/,
];

export function expectNoInternals(body: string, context: string): void {
  const leaked = INTERNALS.filter((pattern) => pattern.test(body)).map(String);
  expect({ context, leaked }).toEqual({ context, leaked: [] });
}

export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}
