import fc from 'fast-check';
import type { OpenApiSchemas, Schema } from '../helpers/openapi-schema';
import { invalidObject, junkHeader, junkParam, junkString, junkValue, validValue, type ValueSite } from './arbitraries';
import { CursorRef, FixtureRef, HugeString, RawPathText } from './symbols';

/*
 * The document's operations, and for each an arbitrary of symbolic requests built from its parameters and
 * request body.
 */

export interface ParameterObject {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

export interface MediaTypeObject {
  schema?: Schema;
}

export interface ResponseObject {
  description?: string;
  content?: Record<string, MediaTypeObject>;
}

export interface OperationObject {
  operationId?: string;
  parameters?: (ParameterObject | { $ref: string })[];
  requestBody?: { required?: boolean; content: Record<string, MediaTypeObject> };
  responses: Record<string, ResponseObject>;
  security?: Record<string, string[]>[];
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OperationObject>>;
  components: { schemas: Record<string, Schema> };
  security?: Record<string, string[]>[];
}

export interface Operation {
  /** `METHOD /path/{param}`, as in the exclusion list and in failure messages. */
  id: string;
  method: string;
  path: string;
  operation: OperationObject;
  parameters: ParameterObject[];
  /** Needs the bearer token (declares a security requirement). */
  secured: boolean;
}

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'];

/** Request body media types the fuzzer can generate. */
export const FUZZABLE_MEDIA_TYPES = ['application/json', 'text/csv', 'text/plain'];

export function listOperations(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    const shared = (item as { parameters?: ParameterObject[] }).parameters ?? [];
    for (const method of METHODS) {
      const operation = item[method];
      if (!operation) continue;
      const own = (operation.parameters ?? []).filter((p): p is ParameterObject => !('$ref' in p));
      const security = operation.security ?? document.security ?? [];
      operations.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        operation,
        parameters: [...shared.filter((s) => !own.some((o) => o.name === s.name && o.in === s.in)), ...own],
        secured: security.some((requirement) => Object.keys(requirement).length > 0),
      });
    }
  }
  return operations;
}

/** Why the fuzzer cannot generate requests for an operation; undefined when it can. */
export function unfuzzableReason(operation: Operation): string | undefined {
  if ((operation.operation.parameters ?? []).some((p) => '$ref' in p)) return 'parameter $refs are not supported';
  if (operation.parameters.some((p) => p.in === 'cookie')) return 'cookie parameters are not supported';
  const body = operation.operation.requestBody;
  if (body) {
    const types = Object.keys(body.content);
    if (!types.some((type) => FUZZABLE_MEDIA_TYPES.includes(type))) {
      return `request body ${types.join(', ')} is not generated`;
    }
  }
  return undefined;
}

export type Auth = { kind: 'owner' } | { kind: 'none' } | { kind: 'junk'; header: string } | { kind: 'tampered' };

export interface SymbolicRequest {
  auth: Auth;
  path: Record<string, unknown>;
  query: [string, unknown][];
  headers: Record<string, unknown>;
  body?: { contentType: string; value: unknown };
}

const authArb: fc.Arbitrary<Auth> = fc.oneof(
  { weight: 16, arbitrary: fc.constant({ kind: 'owner' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'tampered' as const }) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          'Bearer',
          'Bearer ',
          'Basic dXNlcjpwYXNzd29yZA==',
          'bearer x.y.z',
          'Bearer eyJhbGciOiJub25lIiwidHlwIjoiYXQrand0In0.eyJzdWIiOiJ4In0.',
          'Bearer eyJhbGciOiJIUzI1NiJ9.e30.ZRrHA1JJJW8opsbCGfG_HACGpVUMN_a9IV7pAx_Zmeo',
        ),
        fc.string({ unit: 'grapheme-ascii', maxLength: 60 }).map((s) => `Bearer ${s}`),
      )
      .map((header) => ({ kind: 'junk' as const, header })),
  },
);

/** `.` and `..` (however encoded) are resolved by the URL parser of any client: not sendable as values. */
const DOT_SEGMENT = /^(\.|%2e){1,2}$/i;

/** Path parameters: real ids or slugs mostly, else random uuids and junk (encoded when sent). */
function pathParamArb(
  param: ParameterObject,
  segment: string | undefined,
  schemas: OpenApiSchemas,
): fc.Arbitrary<unknown> {
  const schema = param.schema ?? { type: 'string' };
  const junk = fc.oneof(
    fc.constantFrom('not-a-uuid', '0', '-1', '%', '...', ' ', 'null', 'ü', "' OR 1=1 --", 'a'.repeat(120)),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
    fc.constantFrom('%', '%zz', '%c0%af', '%00', '%E2%82', '..%2f..%2f').map((text) => new RawPathText(text)),
  );
  let real: fc.Arbitrary<unknown>;
  if (param.name === 'orgSlug') real = fc.constant(new FixtureRef('owner', 0, 'orgSlug'));
  else if (param.name === 'slug') {
    real = fc.oneof(
      fc.nat({ max: 1 }).map((i) => new FixtureRef('publishedPost', i, 'slug')),
      fc.nat({ max: 1 }).map((i) => new FixtureRef('post', i, 'slug')),
    );
  } else real = validValue(schemas, schema, { name: param.name, segment });
  return fc
    .oneof(
      { weight: 5, arbitrary: real },
      { weight: 1, arbitrary: validValue(schemas, schema, { name: param.name }) },
      { weight: 1, arbitrary: junk },
    )
    .filter((value) => typeof value !== 'string' || !DOT_SEGMENT.test(value));
}

/** Conforming values of a query parameter (several for an array: the parameter repeated). */
function queryParamArb(param: ParameterObject, operation: Operation, schemas: OpenApiSchemas): fc.Arbitrary<unknown[]> {
  const schema = schemas.flatten(param.schema ?? { type: 'string' });
  if (param.name === 'cursor') {
    // A cursor this operation really answered (resolved when sent), or any string.
    return fc.oneof(
      { weight: 3, arbitrary: fc.constant<unknown[]>([new CursorRef(operation.id)]) },
      { weight: 1, arbitrary: validValue(schemas, schema).map((v) => [v]) },
    );
  }
  const site: ValueSite = { name: param.name };
  if (schema.type === 'array') {
    return fc.array(validValue(schemas, schema.items ?? { type: 'string' }, site), { minLength: 1, maxLength: 3 });
  }
  return validValue(schemas, schema, site).map((v) => [v]);
}

function headerParamArb(param: ParameterObject): fc.Arbitrary<unknown> {
  const schema = param.schema ?? { type: 'string' };
  const valid = /^if-/i.test(param.name)
    ? fc.oneof(
        fc.constantFrom('*', '"1"', '"2"', 'W/"1"', '"0"'),
        fc.nat({ max: 5 }).map((n) => `"${n}"`),
      )
    : fc.oneof(fc.uuid(), fc.string({ unit: 'grapheme-ascii', minLength: schema.minLength ?? 1, maxLength: 40 }));
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: junkHeader });
}

const csvCell = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.constantFrom('', '"', '""', '"a,b"', 'a\nb', '=1+1', 'lead', 'active', 'x@example.com', 'vip;b2b'),
  junkString.filter((s) => typeof s === 'string'),
);

/** CSV documents: well-formed with plausible columns, ragged, quoted, empty, or not CSV at all. */
const csvArb: fc.Arbitrary<unknown> = fc.oneof(
  fc
    .tuple(
      fc.subarray(['name', 'email', 'status', 'tags', 'phone', 'company', 'bogus'], { minLength: 1 }),
      fc.array(fc.array(csvCell, { minLength: 0, maxLength: 8 }), { maxLength: 6 }),
      fc.constantFrom('\r\n', '\n'),
    )
    .map(([header, rows, eol]) => [header.join(','), ...rows.map((r) => r.join(','))].join(eol) + eol),
  fc.constantFrom(
    '',
    '\n',
    '\ufeffname,email\r\nAda,ada@example.com\r\n',
    'name\r\n"unterminated',
    new HugeString('a', 300_000),
  ),
  fc.string({ unit: 'binary', maxLength: 200 }),
);

function bodyArb(operation: Operation, schemas: OpenApiSchemas): fc.Arbitrary<SymbolicRequest['body']> {
  const requestBody = operation.operation.requestBody;
  if (!requestBody) {
    // Bodies where none is expected: mostly none, sometimes some JSON.
    return fc.oneof(
      { weight: 9, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: junkValue.map((value) => ({ contentType: 'application/json', value })) },
    );
  }
  const choices: fc.Arbitrary<SymbolicRequest['body']>[] = [];
  for (const [contentType, media] of Object.entries(requestBody.content)) {
    if (!FUZZABLE_MEDIA_TYPES.includes(contentType)) continue;
    const schema = media.schema ?? {};
    let value: fc.Arbitrary<unknown>;
    if (contentType === 'application/json') {
      const flat = schemas.flatten(schema);
      value =
        flat.type === 'object' || flat.properties
          ? fc.oneof(
              { weight: 6, arbitrary: validValue(schemas, schema) },
              { weight: 4, arbitrary: invalidObject(schemas, schema) },
            )
          : fc.oneof({ weight: 6, arbitrary: validValue(schemas, schema) }, { weight: 3, arbitrary: junkValue });
    } else if (contentType === 'text/csv') {
      value = fc.oneof(csvArb, ...(typeof schema.example === 'string' ? [fc.constant(schema.example)] : []));
    } else {
      value = fc.oneof(junkString, ...(typeof schema.example === 'string' ? [fc.constant(schema.example)] : []));
    }
    choices.push(value.map((v) => ({ contentType, value: v })));
  }
  // A body of the wrong media type, or none at all.
  const wrong = fc.oneof(
    fc.constant(undefined),
    fc.constantFrom('text/plain', 'application/xml', 'application/x-www-form-urlencoded').map((contentType) => ({
      contentType,
      value: 'a=1',
    })),
  );
  return fc.oneof({ weight: 12, arbitrary: fc.oneof(...choices) }, { weight: 1, arbitrary: wrong });
}

/** Symbolic requests for one operation. */
export function requestArb(operation: Operation, schemas: OpenApiSchemas): fc.Arbitrary<SymbolicRequest> {
  const segments = operation.path.split('/');
  const path: Record<string, fc.Arbitrary<unknown>> = {};
  const query: fc.Arbitrary<[string, unknown][]>[] = [];
  const headers: Record<string, fc.Arbitrary<unknown>> = {};
  for (const param of operation.parameters) {
    switch (param.in) {
      case 'path': {
        const at = segments.indexOf(`{${param.name}}`);
        path[param.name] = pathParamArb(param, at > 0 ? segments[at - 1] : undefined, schemas);
        break;
      }
      case 'query': {
        const values = queryParamArb(param, operation, schemas).map((vs) =>
          vs.map((v): [string, unknown] => [param.name, v]),
        );
        // Required ones are mostly present, optional ones mostly absent.
        const [present, absent] = param.required ? [12, 1] : [3, 5];
        const none = fc.constant<[string, unknown][]>([]);
        query.push(fc.oneof({ weight: present, arbitrary: values }, { weight: absent, arbitrary: none }));
        break;
      }
      case 'header':
        headers[param.name] = headerParamArb(param);
        break;
      case 'cookie':
        break;
    }
  }
  // One query parameter (or an unknown one) corrupted: a junk value instead of or beside the valid ones.
  const names = operation.parameters.filter((p) => p.in === 'query').map((p) => p.name);
  const corruption = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    {
      weight: 1,
      arbitrary: fc.record({
        name: fc.constantFrom(...names, '__proto__', 'x', 'limit[]'),
        value: junkParam,
        replace: fc.boolean(),
      }),
    },
  );
  return fc.record({
    auth: authArb,
    path: fc.record(path),
    query: fc.tuple(fc.tuple(...query), corruption).map(([lists, corrupt]) => {
      const pairs = lists.flat();
      if (!corrupt) return pairs;
      return [...pairs.filter(([name]) => !corrupt.replace || name !== corrupt.name), [corrupt.name, corrupt.value]];
    }),
    headers: fc.record(headers, { requiredKeys: [] }),
    body: bodyArb(operation, schemas),
  });
}
