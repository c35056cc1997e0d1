import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import fc from 'fast-check';
import type { LightMyRequestResponse } from 'fastify';
import { bearer, registerOwner, uniqueEmail } from '../helpers/auth';
import { OpenApiSchemas, type Schema } from '../helpers/openapi-schema';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { FuzzContext } from './fuzz-context';
import {
  listOperations,
  requestArb,
  unfuzzableReason,
  type OpenApiDocument,
  type Operation,
  type SymbolicRequest,
} from './operations';
import { FixtureRef, materialize, preview, RawPathText, type CursorRef } from './symbols';

/*
 * Property-based fuzzing of every operation in /docs-json (issue #10): requests generated from the
 * document's parameters and schemas, valid and not, sent with the owner's bearer token mostly and
 * sometimes without one or with a bad one. Each response must be
 *   - never a 5xx;
 *   - a problem document (application/problem+json) for every 4xx;
 *   - 401 for a secured operation called without valid credentials;
 *   - for a 2xx/3xx: a documented status, with a body that matches the documented schema (strictly:
 *     undocumented fields fail) or no body when none is documented.
 *
 * FUZZ_RUNS   cases per operation (default 12)
 * FUZZ_SEED   base seed (default random; printed at start); each operation runs with a seed derived from
 *             it and the operation, so a failing operation replays on its own with FUZZ_ONLY
 * FUZZ_ONLY   comma-separated operation ids (`POST /api/v1/customers`) or substrings of them, to run only those
 * FUZZ_PATH   fast-check's counterexample path (printed on failure), with FUZZ_SEED and a single FUZZ_ONLY
 * FUZZ_VERBOSE 1 to list the statuses each operation answered (always listed on failure)
 * FUZZ_SHRINK 1 to shrink a failing case (off by default: requests change the state they run against, so
 *             shrinking mostly replays cases that no longer fail, slowly)
 * Replays are close but not exact: the database state (ids, earlier requests) differs between runs.
 */

/**
 * Operations of the document that are not fuzzed, each with the reason. An operation the fuzzer cannot
 * generate requests for (see `unfuzzableReason`) must be here, or the coverage test fails.
 */
const EXCLUDED: Record<string, string> = {
  'POST /api/v1/media':
    'multipart/form-data upload: bodies are files checked by content sniffing and the virus scanner (test/media)',
  'POST /api/v1/storage/local/{path}':
    'multipart/form-data: the local-disk stand-in for a presigned S3 POST, authorized by a signed policy (test/media)',
};

/**
 * Routes the server answers that are not in the document, and so not fuzzed (path prefixes, any method).
 * Anything else mounted but undocumented fails the coverage test.
 */
const NOT_IN_DOCUMENT: Record<string, string> = {
  '/docs': 'Swagger UI and the document itself (/docs, /docs-json, /docs-yaml)',
  '/admin/queues':
    'bull-board dashboard: a Fastify plugin with its own UI and API, not Nest routes (test/queue-dashboard)',
  '*': 'CORS preflight (OPTIONS *)',
};

/** Problem statuses that any route may answer without declaring them (see ApiProblems). */
const UNIVERSAL_STATUSES = new Set([400, 401, 413, 414, 415, 429]);

/**
 * Problems raised before authentication (routing, body parsing): a secured operation may answer them
 * instead of 401 to a request without valid credentials.
 */
const PRE_AUTH_PROBLEMS = new Set([
  'malformed-url',
  'uri-too-long',
  'malformed-body',
  'payload-too-large',
  'unsupported-media-type',
]);

const RUNS = Number(process.env.FUZZ_RUNS ?? 12);
const SEED =
  process.env.FUZZ_SEED !== undefined ? Number(process.env.FUZZ_SEED) : (Date.now() ^ (Math.random() * 2 ** 31)) | 0;
const ONLY = (process.env.FUZZ_ONLY ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const PATH = process.env.FUZZ_PATH;
const SHRINK = process.env.FUZZ_SHRINK === '1';

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h | 0;
}

interface SentRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  payload?: string;
}

function stringify(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
}

function tamper(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A';
  return `${token.slice(0, -2)}${last}${token.at(-1)}`;
}

/** The concrete request for a symbolic one, in the context of the moment. */
function concretize(operation: Operation, request: SymbolicRequest, context: FuzzContext): SentRequest {
  const lookup = (ref: FixtureRef | CursorRef): string => context.lookup(ref);
  let path = operation.path;
  for (const [name, value] of Object.entries(request.path)) {
    const text = stringify(materialize(value, lookup)).replace(/[\ud800-\udfff]/gu, '\ufffd');
    path = path.replace(`{${name}}`, value instanceof RawPathText ? value.text : encodeURIComponent(text));
  }
  const search = new URLSearchParams();
  for (const [name, value] of request.query) search.append(name, stringify(materialize(value, lookup)));
  const query = search.toString();
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    headers[name.toLowerCase()] = stringify(materialize(value, lookup));
  switch (request.auth.kind) {
    case 'owner':
      headers.authorization = `Bearer ${context.token}`;
      break;
    case 'tampered':
      headers.authorization = `Bearer ${tamper(context.token)}`;
      break;
    case 'junk':
      headers.authorization = request.auth.header;
      break;
    case 'none':
      break;
  }
  let payload: string | undefined;
  if (request.body) {
    headers['content-type'] = request.body.contentType;
    const value = materialize(request.body.value, lookup);
    payload = request.body.contentType === 'application/json' ? (JSON.stringify(value) ?? 'null') : stringify(value);
  }
  return { method: operation.method, url: query ? `${path}?${query}` : path, headers, payload };
}

/** The code of a problem response (`urn:atrium:problem:<code>`), or '' for any other response. */
function problemCode(res: LightMyRequestResponse): string {
  if (mediaType(res) !== 'application/problem+json') return '';
  const parsed = parseJson(res.body);
  const type = parsed.ok ? (parsed.value as { type?: unknown }).type : undefined;
  return typeof type === 'string' ? type.replace(/^urn:atrium:problem:/, '') : '';
}

function mediaType(res: LightMyRequestResponse): string {
  return String(res.headers['content-type'] ?? '')
    .split(';')[0]
    .trim()
    .toLowerCase();
}

function parseJson(body: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(body) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Every way the response breaks the contract; empty when it keeps it. */
function violations(
  operation: Operation,
  request: SymbolicRequest,
  sent: SentRequest,
  res: LightMyRequestResponse,
  schemas: OpenApiSchemas,
): string[] {
  const problems: string[] = [];
  const status = res.statusCode;
  const responses = operation.operation.responses;
  if (status >= 500) problems.push(`server error ${status}`);
  const credentialsBad = request.auth.kind !== 'owner';
  if (operation.secured && credentialsBad && status !== 401 && !PRE_AUTH_PROBLEMS.has(problemCode(res))) {
    problems.push(`secured operation answered ${status} to ${request.auth.kind} credentials, expected 401`);
  }
  if (status >= 400) {
    if (mediaType(res) !== 'application/problem+json') {
      problems.push(`error response is ${res.headers['content-type'] ?? 'untyped'}, not application/problem+json`);
      return problems;
    }
    const parsed = parseJson(res.body);
    if (!parsed.ok) return [...problems, 'problem body is not JSON'];
    const body = parsed.value as Record<string, unknown>;
    const problemSchema: Schema = { $ref: '#/components/schemas/ProblemDocumentDto' };
    for (const error of schemas.validate(problemSchema, body)) problems.push(`problem ${error.path} ${error.message}`);
    if (body.status !== status) problems.push(`problem status ${stringify(body.status)} differs from HTTP ${status}`);
    if (typeof body.type !== 'string' || !/^urn:atrium:problem:[a-z0-9-]+$/.test(body.type)) {
      problems.push(`problem type ${stringify(body.type)} is not urn:atrium:problem:<code>`);
    }
    if (body.requestId !== res.headers['x-request-id']) problems.push('problem requestId differs from X-Request-Id');
    if (body.instance !== sent.url.split('?')[0])
      problems.push(`problem instance ${stringify(body.instance)} is not the path`);
    return problems;
  }
  if (status >= 200 && status < 400) {
    const documented = responses[String(status)] ?? responses[`${String(status)[0]}XX`];
    if (!documented) {
      return [...problems, `status ${status} is not documented (documented: ${Object.keys(responses).join(', ')})`];
    }
    const content = documented.content ?? {};
    const types = Object.keys(content);
    if (!types.length) {
      if (res.body.length)
        problems.push(`status ${status} documents no body, got ${res.body.length} bytes of ${mediaType(res)}`);
      return problems;
    }
    const type = mediaType(res);
    const media = content[type];
    if (!media)
      return [...problems, `content-type ${type || '(none)'} is not documented for ${status} (${types.join(', ')})`];
    if (!media.schema) return problems;
    let value: unknown = res.body;
    if (type === 'application/json' || type.endsWith('+json')) {
      const parsed = parseJson(res.body);
      if (!parsed.ok) return [...problems, `${status} body is not JSON`];
      value = parsed.value;
    }
    for (const error of schemas.validate(media.schema, value, { strict: true })) {
      problems.push(`${status} body ${error.path} ${error.message}`);
    }
  }
  return problems;
}

function report(operation: Operation, sent: SentRequest, res: LightMyRequestResponse, problems: string[]): string {
  const auth = sent.headers.authorization ? `${sent.headers.authorization.slice(0, 24)}…` : '(none)';
  const headers = Object.fromEntries(Object.entries(sent.headers).filter(([name]) => name !== 'authorization'));
  return [
    `${operation.id} broke the contract:`,
    ...problems.map((p) => `  - ${p}`),
    `request:  ${sent.method} ${preview(sent.url, 600)}`,
    `          authorization ${auth} headers ${preview(headers, 600)}`,
    ...(sent.payload !== undefined ? [`          body ${preview(sent.payload, 1500)}`] : []),
    `response: ${res.statusCode} ${String(res.headers['content-type'] ?? '')} x-request-id ${String(res.headers['x-request-id'] ?? '')}`,
    `          ${preview(res.body, 1500)}`,
  ].join('\n');
}

/** Routes as Fastify mounted them, from printRoutes' tree: `METHOD /path/:param`. */
function mountedRoutes(app: NestFastifyApplication): { method: string; path: string }[] {
  const tree = app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const routes: { method: string; path: string }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    stack.length = match[1].length / 4;
    stack.push(match[2]);
    for (const method of match[3]?.split(', ') ?? []) routes.push({ method, path: stack.join('') });
  }
  return routes;
}

describe('OpenAPI fuzzing', () => {
  let app: NestFastifyApplication;
  let document: OpenApiDocument;
  let schemas: OpenApiSchemas;
  let operations: Operation[];

  beforeAll(async () => {
    app = await createTestApp();
    const res = await app.inject('/docs-json');
    expect(res.statusCode).toBe(200);
    document = res.json<OpenApiDocument>();
    schemas = new OpenApiSchemas(document);
    operations = listOperations(document);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('should fuzz every operation of the document, or exclude it with a reason', () => {
    const ids = new Set(operations.map((operation) => operation.id));
    const unaccounted = operations
      .filter((operation) => unfuzzableReason(operation) && !EXCLUDED[operation.id])
      .map((operation) => `${operation.id}: ${unfuzzableReason(operation)}`);
    expect(unaccounted).toEqual([]);
    // The list must not outlive the routes it excuses.
    expect(Object.keys(EXCLUDED).filter((id) => !ids.has(id))).toEqual([]);
  });

  it('should document every route the server mounts (or list it as intentionally undocumented)', () => {
    const documented = new Set(
      operations.map((operation) => `${operation.method} ${operation.path.replace(/\{([^}]+)\}/g, ':$1')}`),
    );
    const prefixes = Object.keys(NOT_IN_DOCUMENT);
    const undocumented = mountedRoutes(app)
      .filter((route) => route.method !== 'HEAD')
      .filter((route) => !documented.has(`${route.method} ${route.path}`))
      .filter((route) => !prefixes.some((prefix) => route.path === prefix || route.path.startsWith(prefix)))
      .map((route) => `${route.method} ${route.path}`);
    expect(undocumented).toEqual([]);
  });

  // Cases the fuzzer found, kept as plain regression tests.
  describe('regressions', () => {
    it('should answer an over-long path parameter (414) and a malformed URL (400) as problems', async () => {
      const tooLong = await app.inject({ method: 'GET', url: `/api/v1/customers/${'a'.repeat(120)}` });
      expectProblem(tooLong, 414, 'uri-too-long');
      const malformed = await app.inject({ method: 'GET', url: '/api/v1/customers/%zz' });
      expectProblem(malformed, 400, 'malformed-url');
    });

    it('should refuse text with unpaired surrogates as a validation failure, not a 500', async () => {
      const res = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/register',
        headers: { 'content-type': 'application/json' },
        payload: '{"organizationName":"Org","name":"N","email":"\\udfff\\ud800@example.com","password":"x"}',
      });
      const body = expectProblem(res, 400, 'validation-failed');
      expect(body.errors).toEqual([{ field: 'email', message: 'email contains an unpaired UTF-16 surrogate' }]);
    });

    it('should refuse null for optional fields that are not nullable (not a NOT NULL violation)', async () => {
      const owner = await registerOwner(app, 'fuzz-regression');
      const headers = bearer(owner.accessToken);
      const post = async (url: string, payload: object): Promise<string> => {
        const res = await app.inject({ method: 'POST', url, headers, payload });
        expect(res.statusCode).toBe(201);
        return res.json<{ id: string }>().id;
      };
      const departmentId = await post('/api/v1/departments', { name: 'Sales' });
      const roleId = await post('/api/v1/roles', { name: 'Helpers' });
      const userId = await post('/api/v1/users', { email: uniqueEmail('fuzz-regression'), name: 'Grace' });
      const cases: [string, object][] = [
        [`/api/v1/users/${userId}`, { name: null }],
        ['/api/v1/organizations/current', { name: null }],
        ['/api/v1/organizations/current', { requireTwoFactor: null }],
        [`/api/v1/departments/${departmentId}`, { name: null }],
        [`/api/v1/roles/${roleId}`, { name: null }],
        [`/api/v1/roles/${roleId}`, { description: null }],
      ];
      for (const [url, payload] of cases) {
        const res = await app.inject({ method: 'PATCH', url, headers, payload });
        expect({ url, payload, status: res.statusCode }).toEqual({ url, payload, status: 400 });
        expectProblem(res, 400, 'validation-failed');
      }
    });
  });

  it('should keep the contract for generated requests', async () => {
    const selected = operations.filter(
      (operation) =>
        !EXCLUDED[operation.id] &&
        !unfuzzableReason(operation) &&
        (!ONLY.length || ONLY.some((only) => operation.id === only || operation.id.includes(only))),
    );
    expect(selected.length).toBeGreaterThan(0);
    process.stdout.write(
      `OpenAPI fuzz: ${selected.length} operations × ${RUNS} runs, FUZZ_SEED=${SEED}` +
        `${ONLY.length ? ` FUZZ_ONLY=${ONLY.join(',')}` : ''}\n`,
    );
    const context = await FuzzContext.create(app);
    const failures: string[] = [];
    const statuses = new Map<string, Map<number, number>>();
    const undocumentedProblems = new Set<string>();
    const started = Date.now();

    for (const operation of selected) {
      const seed = (SEED ^ hash(operation.id)) | 0;
      if (/\{(orgSlug|slug)\}/.test(operation.path)) await context.refreshPublished();
      const counts = new Map<number, number>();
      statuses.set(operation.id, counts);
      const property = fc.asyncProperty(requestArb(operation, schemas), async (request) => {
        const sent = concretize(operation, request, context);
        const res = await app.inject({
          method: sent.method as 'GET',
          url: sent.url,
          headers: sent.headers,
          ...(sent.payload !== undefined ? { payload: sent.payload } : {}),
        });
        counts.set(res.statusCode, (counts.get(res.statusCode) ?? 0) + 1);
        if (
          res.statusCode >= 400 &&
          !UNIVERSAL_STATUSES.has(res.statusCode) &&
          !operation.operation.responses[res.statusCode]
        ) {
          undocumentedProblems.add(`${operation.id} ${res.statusCode}`);
        }
        const problems = violations(operation, request, sent, res, schemas);
        if (res.statusCode === 200 && mediaType(res) === 'application/json') {
          const parsed = parseJson(res.body);
          if (parsed.ok) context.noteCursor(operation.id, parsed.value);
        }
        await afterCase(operation, request, res, context);
        if (problems.length) throw new Error(report(operation, sent, res, problems));
      });
      try {
        await fc.assert(property, {
          numRuns: RUNS,
          seed,
          ...(PATH && ONLY.length ? { path: PATH } : {}),
          endOnFailure: !SHRINK,
        });
      } catch (error) {
        // fast-check keeps the property's own error (the request/response report) as the cause.
        const cause = (error as Error).cause;
        failures.push(
          [
            cause instanceof Error ? cause.message : '',
            (error as Error).message.replace(/\n\s*Hint: .*$/s, ''),
            `Replay: FUZZ_SEED=${SEED} FUZZ_ONLY='${operation.id}' FUZZ_PATH=<path above>`,
          ].join('\n'),
        );
      }
    }

    const summary = [...statuses]
      .map(
        ([id, counts]) =>
          `  ${id}: ${[...counts]
            .sort(([a], [b]) => a - b)
            .map(([s, n]) => `${s}×${n}`)
            .join(' ')}`,
      )
      .join('\n');
    const verbose = failures.length > 0 || process.env.FUZZ_VERBOSE === '1';
    process.stdout.write(
      `OpenAPI fuzz finished in ${((Date.now() - started) / 1000).toFixed(1)} s, organization rebuilt ` +
        `${context.generation - 1} time(s).` +
        (verbose ? ` Statuses per operation:\n${summary}\n` : ' FUZZ_VERBOSE=1 lists the statuses per operation.\n') +
        (undocumentedProblems.size
          ? `Undocumented error statuses (not failures):\n  ${[...undocumentedProblems].join('\n  ')}\n`
          : ''),
    );
    if (failures.length) {
      throw new Error(`${failures.length} operation(s) failed (FUZZ_SEED=${SEED}):\n\n${failures.join('\n\n')}`);
    }
  }, 900_000);
});

/**
 * Keeps the context usable after a case: a fixture the request deleted is replaced, and when the owner's
 * token stopped working (or lost its permissions) the organization is set up again.
 */
async function afterCase(
  operation: Operation,
  request: SymbolicRequest,
  res: LightMyRequestResponse,
  context: FuzzContext,
): Promise<void> {
  if (request.auth.kind === 'owner' && (res.statusCode === 401 || res.statusCode === 403)) {
    if (!(await context.healthy())) await context.rebuild();
    return;
  }
  if (operation.method === 'DELETE' && res.statusCode < 300) {
    for (const value of Object.values(request.path)) {
      if (value instanceof FixtureRef && value.field === 'id') await context.replenish(value.kind, value.index);
    }
  }
}
