import { randomUUID } from 'node:crypto';
import { TEST_PASSWORD, uniqueEmail } from '../../helpers/auth';

export interface ApiResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
  headers: Headers;
  /** Time from sending the request to the end of the response body. */
  ms: number;
}

export interface CallOptions {
  token?: string;
  body?: unknown;
  /** Sent as is (e.g. text/csv); `body` is sent as JSON otherwise. */
  rawBody?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

/** A real HTTP call to a running API process (loopback). */
export async function call<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: CallOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  const started = Date.now();
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    body,
    signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
  });
  const text = await res.text();
  const parsed = (text ? safeJson(text) : undefined) as T;
  return { status: res.status, body: parsed, headers: res.headers, ms: Date.now() - started };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface Account {
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  userId: string;
  organizationId: string;
  sessionId: string;
}

/** Registers a new organization and its owner through the API. */
export async function registerOwner(base: string, label = 'owner'): Promise<Account> {
  const email = uniqueEmail(label);
  const res = await call<{ accessToken: string; refreshToken: string }>(base, 'POST', '/api/v1/auth/register', {
    body: {
      organizationName: `Org ${label} ${randomUUID().slice(0, 6)}`,
      name: `Test ${label}`,
      email,
      password: TEST_PASSWORD,
    },
  });
  if (res.status !== 201) throw new Error(`register failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, password: TEST_PASSWORD, ...res.body, ...(await whoAmI(base, res.body.accessToken)) };
}

/** A new session of an existing account (POST /auth/login). */
export async function login(base: string, email: string, password = TEST_PASSWORD): Promise<Account> {
  const res = await call<{ accessToken: string; refreshToken: string }>(base, 'POST', '/api/v1/auth/login', {
    body: { email, password },
  });
  if (res.status !== 200) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
  return { email, password, ...res.body, ...(await whoAmI(base, res.body.accessToken)) };
}

async function whoAmI(
  base: string,
  accessToken: string,
): Promise<{ userId: string; organizationId: string; sessionId: string }> {
  const me = await call<{ id: string; organizationId: string; sessionId: string }>(base, 'GET', '/api/v1/auth/me', {
    token: accessToken,
  });
  if (me.status !== 200) throw new Error(`me failed: ${me.status} ${JSON.stringify(me.body)}`);
  return { userId: me.body.id, organizationId: me.body.organizationId, sessionId: me.body.sessionId };
}

/** Asserts a problem+json answer of this status and code. */
export function expectProblem(res: ApiResponse, status: number, code: string): void {
  expect({ status: res.status, type: (res.body as { type?: string } | undefined)?.type }).toEqual({
    status,
    type: `urn:atrium:problem:${code}`,
  });
  expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
}
