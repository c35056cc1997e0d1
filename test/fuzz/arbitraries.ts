import fc from 'fast-check';
import { TEST_PASSWORD } from '../helpers/auth';
import type { OpenApiSchemas, Schema } from '../helpers/openapi-schema';
import { DeepObject, FixtureRef, HugeString, type FixtureField, type FixtureKind } from './symbols';

/*
 * Arbitraries driven by the document's schemas: values that conform (respecting type, enum, format,
 * lengths, bounds, required) and values that do not (wrong types, junk strings, boundary numbers, missing
 * required fields, unknown fields, nulls, huge and deeply nested values). Names of properties and
 * parameters only steer uuids towards real objects of a likely kind; any field the hints do not know still
 * gets ids of real objects of every kind, random uuids and junk.
 */

/** How many fixtures of each kind FuzzContext creates. */
export const FIXTURES_PER_KIND = 2;

/** Property or parameter names whose uuids are likely ids of a kind of fixture. */
const NAME_HINTS: [RegExp, FixtureKind[]][] = [
  [/^(departmentId|parentId|moveTo)$/, ['department']],
  [/^(ownerId|authorId|actorId|userId|createdBy)$/, ['member', 'owner']],
  [/^roleId$/, ['role']],
  [/^assignmentId$/, ['assignment']],
  [/^customerId$/, ['customer']],
  [/^resourceId$/, ['customer', 'post', 'member', 'role', 'department']],
  [/^(coverMediaId|mediaId)$/, ['media']],
  [/^uploadedBy$/, ['owner', 'member']],
];

/** For a path parameter `{id}`, the kind of object the path segment before it names. */
const SEGMENT_HINTS: Record<string, FixtureKind[]> = {
  customers: ['customer'],
  posts: ['post', 'publishedPost'],
  departments: ['department'],
  roles: ['role'],
  users: ['member', 'owner'],
  sessions: ['session'],
  'audit-logs': ['auditLog'],
  imports: ['customerImport'],
  pings: ['ping'],
  activities: ['activity'],
  media: ['media'],
  uploads: ['upload'],
};

/** Where a value goes: its name, and for a path parameter the segment before it. */
export interface ValueSite {
  name?: string;
  segment?: string;
}

function hintedKinds(site: ValueSite): FixtureKind[] {
  if (site.name === 'id' && site.segment) return SEGMENT_HINTS[site.segment] ?? [];
  for (const [pattern, kinds] of NAME_HINTS) if (site.name && pattern.test(site.name)) return kinds;
  return [];
}

const ALL_ID_KINDS: FixtureKind[] = [
  'customer',
  'post',
  'department',
  'role',
  'member',
  'owner',
  'assignment',
  'auditLog',
  'customerImport',
  'ping',
  'media',
];

function refOf(kinds: readonly FixtureKind[], field: FixtureField = 'id'): fc.Arbitrary<FixtureRef> {
  return fc
    .tuple(fc.constantFrom(...kinds), fc.nat({ max: FIXTURES_PER_KIND - 1 }))
    .map(([kind, index]) => new FixtureRef(kind, index, field));
}

/** Ids of real objects (of the hinted kind mostly), random uuids, and the nil uuid. */
export function uuidArb(site: ValueSite): fc.Arbitrary<unknown> {
  const hinted = hintedKinds(site);
  return fc.oneof(
    ...(hinted.length ? [{ weight: 6, arbitrary: refOf(hinted) }] : []),
    { weight: 2, arbitrary: refOf(ALL_ID_KINDS) },
    { weight: 2, arbitrary: fc.uuid() },
    { weight: 1, arbitrary: fc.constant('00000000-0000-0000-0000-000000000000') },
  );
}

// ---------------------------------------------------------------------------------------------------------
// Junk

/** Strings that break naive code: injections, encodings, control and invisible characters, path tricks. */
export const NASTY_STRINGS = [
  '',
  ' ',
  '\t\n',
  '\u0000',
  'a\u0000b',
  '\ud800',
  '\udfff\ud800',
  '\u202eevil',
  '\u200b',
  '\ufeff',
  '🦄🦄🦄',
  'ꙮ',
  'Z̷̛̖a̶͖l̸g̷o',
  'null',
  'undefined',
  'true',
  'NaN',
  '-0',
  '0x10',
  '1e309',
  '-1',
  '99999999999999999999999',
  "' OR '1'='1' --",
  '"; DROP TABLE customers; --',
  "'); SELECT pg_sleep(1); --",
  '%',
  '%00',
  '%25%32%35',
  '\\',
  '../../../etc/passwd',
  '..%2f..%2f',
  '${7*7}',
  '{{7*7}}',
  '<script>alert(1)</script>',
  '[]',
  '{}',
  '{"$gt": ""}',
  '*',
  '_%',
  'customers:*',
  '*:*',
  'a,b',
  '/',
  '-',
  '--',
  'a-',
  'UPPER-Case',
  '2026-02-30T25:61:61Z',
  '1970-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:00:00Z',
  '+275760-09-13T00:00:00.000Z',
  '2026-13-01',
  'not-a-uuid',
  '00000000-0000-0000-0000-00000000000g',
  '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
  'eyJ2IjoxfQ.AAAA',
  'eyJ2Ijo5OTk5OTk5OTk5OTk5OTk5OTk5OSwiayI6WzEsMiwzXX0',
];

/** Numbers at the edges: zero, negative, fractional, beyond int4 and int8, beyond doubles' safe range. */
export const NASTY_NUMBERS = [
  0,
  -0,
  -1,
  1.5,
  0.1,
  -1.5,
  2147483647,
  2147483648,
  -2147483649,
  9007199254740991,
  2 ** 53 + 2,
  1e21,
  -1e21,
  1e308,
  -1e308,
  Number.MIN_VALUE,
];

const hugeStrings = fc.constantFrom(
  new HugeString('x', 1_001),
  new HugeString('x', 10_001),
  new HugeString('é', 70_000),
  new HugeString('x', 200_001),
  new HugeString('x', 1_100_000),
);

/** Any string, mostly unicode-heavy, sometimes nasty or huge. */
export const junkString: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: hugeStrings },
);

/** Any JSON value, weighted towards the ones a validator most likely mishandles. */
export const junkValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: junkString },
  { weight: 3, arbitrary: fc.constantFrom<unknown>(null, true, false, ...NASTY_NUMBERS) },
  { weight: 1, arbitrary: fc.integer() },
  { weight: 1, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 1, arbitrary: fc.array(fc.oneof(fc.string(), fc.integer(), fc.constant(null)), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(new DeepObject(64), new DeepObject(3000)) },
  { weight: 1, arbitrary: fc.constantFrom<unknown>([[[[]]]], JSON.parse('{"__proto__":{"admin":true}}'), [null], {}) },
);

/** A query or header string that is unlikely to be what the parameter wants. */
export const junkParam: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  { weight: 1, arbitrary: fc.constantFrom(new HugeString('x', 5_000), new HugeString('9', 400)) },
);

/** Header values must be visible ASCII (or Node refuses to send them): junk within that alphabet. */
export const junkHeader: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom('', '*', '"', 'W/"', 'W/"1"', '"1"', '"0"', '"-1"', '"99999999999999999999"', 'x'.repeat(300)),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);

// ---------------------------------------------------------------------------------------------------------
// Conforming values

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T|$)/;

const dateTime = fc
  .date({ min: new Date('1990-01-01T00:00:00Z'), max: new Date('2090-01-01T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const nearFuture = fc
  .integer({ min: 60, max: 400 * 24 * 3600 })
  .map((seconds) => new Date(Date.now() + seconds * 1000).toISOString());

const simpleEmail = fc
  .tuple(
    fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 12 }),
    fc.constantFrom('example.com', 'atrium.test', 'mail.example.org'),
  )
  .map(([local, domain]) => `${local}@${domain}`);

const strongPassword = fc
  .string({ unit: 'grapheme-ascii', minLength: 12, maxLength: 64 })
  .map((s) => `${s}-Aa1!`)
  .filter((s) => s.trim().length >= 12);

const slugText = fc
  .array(fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789'), minLength: 1, maxLength: 8 }), {
    minLength: 1,
    maxLength: 4,
  })
  .map((parts) => parts.join('-'));

function clampLength(arb: fc.Arbitrary<string>, schema: Schema): fc.Arbitrary<string> {
  const min = schema.minLength ?? 0;
  const max = schema.maxLength ?? Infinity;
  return arb.filter((s) => [...s].length >= min && [...s].length <= max);
}

function validString(schema: Schema, site: ValueSite): fc.Arbitrary<unknown> {
  const min = schema.minLength ?? 0;
  const max = Math.max(min, Math.min(schema.maxLength ?? 40, 40));
  const example = typeof schema.example === 'string' ? [fc.constant(schema.example)] : [];
  if (schema.format === 'uuid') return uuidArb(site);
  if (schema.format === 'date-time') return fc.oneof(dateTime, nearFuture);
  if (schema.format === 'email') {
    return clampLength(
      fc.oneof({ weight: 4, arbitrary: simpleEmail }, { weight: 1, arbitrary: fc.emailAddress() }),
      schema,
    );
  }
  if (schema.pattern) {
    return clampLength(fc.stringMatching(new RegExp(schema.pattern)), schema).map((s) => s);
  }
  if (site.name && /password/i.test(site.name)) {
    return fc.oneof(fc.constant(TEST_PASSWORD), clampLength(strongPassword, schema));
  }
  if (typeof schema.example === 'string' && ISO_DATE.test(schema.example)) {
    return fc.oneof(dateTime, nearFuture, fc.constant(schema.example));
  }
  if (site.name === 'slug') return fc.oneof(clampLength(slugText, schema), ...example);
  if (site.name === 'code') {
    return fc.oneof(fc.stringMatching(/^\d{6}$/), clampLength(fc.string({ minLength: min, maxLength: max }), schema));
  }
  const text = fc.oneof(
    { weight: 4, arbitrary: fc.string({ minLength: Math.max(min, 1), maxLength: Math.max(max, 1) }) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: Math.max(min, 1), maxLength: Math.max(max, 1) }) },
  );
  return fc.oneof(
    { weight: 5, arbitrary: clampLength(text, schema) },
    ...example.map((arbitrary) => ({ weight: 2, arbitrary })),
    // Boundary: exactly the maximum length.
    ...(schema.maxLength !== undefined && schema.maxLength <= 10_000
      ? [{ weight: 1, arbitrary: fc.constant(new HugeString('m', schema.maxLength)) }]
      : []),
  );
}

function validNumber(schema: Schema): fc.Arbitrary<number> {
  const integer = schema.type === 'integer';
  const min = schema.minimum ?? (integer ? -1000 : -1e6);
  const max = schema.maximum ?? (integer ? 1000 : 1e6);
  const inRange = integer
    ? fc.integer({ min: Math.ceil(min), max: Math.floor(max) })
    : fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
  // Without a maximum (page sizes: the limit is configuration), mostly small values above the minimum.
  const small =
    integer && schema.maximum === undefined && schema.minimum !== undefined
      ? [{ weight: 6, arbitrary: fc.integer({ min: schema.minimum, max: schema.minimum + 99 }) }]
      : [];
  const bounds = [schema.minimum, schema.maximum].filter((n): n is number => n !== undefined);
  return bounds.length
    ? fc.oneof(...small, { weight: 4, arbitrary: inRange }, { weight: 1, arbitrary: fc.constantFrom(...bounds) })
    : inRange;
}

/** Values that conform to `schema` (given the document's components). */
export function validValue(
  schemas: OpenApiSchemas,
  original: Schema,
  site: ValueSite = {},
  depth = 0,
): fc.Arbitrary<unknown> {
  const schema = schemas.flatten(original);
  const arb = validNonNull(schemas, schema, site, depth);
  return schema.nullable ? fc.oneof({ weight: 6, arbitrary: arb }, fc.constant(null)) : arb;
}

function validNonNull(schemas: OpenApiSchemas, schema: Schema, site: ValueSite, depth: number): fc.Arbitrary<unknown> {
  if (schema.enum?.length) return fc.constantFrom(...schema.enum.filter((v) => v !== null));
  if (schema.oneOf?.length || schema.anyOf?.length) {
    return fc.oneof(
      ...(schema.oneOf ?? schema.anyOf ?? []).map((branch) => validValue(schemas, branch, site, depth + 1)),
    );
  }
  switch (schema.type) {
    case 'string':
      return validString(schema, site);
    case 'integer':
    case 'number':
      return validNumber(schema);
    case 'boolean':
      return fc.boolean();
    case 'array': {
      const items = schema.items ? validValue(schemas, schema.items, { name: site.name }, depth + 1) : fc.string();
      const arrays = fc.array(items, {
        minLength: schema.minItems ?? 0,
        maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 4, 4)),
      });
      return Array.isArray(schema.example) ? fc.oneof(arrays, fc.constant(schema.example)) : arrays;
    }
    case 'object':
    case undefined:
      return validObject(schemas, schema, depth);
    default:
      return fc.constant(null);
  }
}

function validObject(schemas: OpenApiSchemas, schema: Schema, depth: number): fc.Arbitrary<unknown> {
  const properties = schema.properties ?? {};
  if (!Object.keys(properties).length) {
    if (depth > 3) return fc.constant({});
    // Free-form objects (customFields): small JSON, or the documented example.
    const free = fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), {
      maxKeys: 5,
    });
    return schema.example && typeof schema.example === 'object' ? fc.oneof(free, fc.constant(schema.example)) : free;
  }
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, property] of Object.entries(properties)) {
    model[name] = validValue(schemas, property, { name }, depth + 1);
  }
  return fc.record(model, { requiredKeys: (schema.required ?? []).filter((key) => key in model) });
}

// ---------------------------------------------------------------------------------------------------------
// Non-conforming values

/** A value of the wrong type for `schema` (or junk of the right type: nasty strings, edge numbers). */
export function wrongValue(schemas: OpenApiSchemas, original: Schema): fc.Arbitrary<unknown> {
  const schema = schemas.flatten(original);
  const wrongNumbers = fc.constantFrom<unknown>(...NASTY_NUMBERS, '1', 'abc', true, [], {});
  if (schema.type === 'integer' || schema.type === 'number') return fc.oneof(wrongNumbers, junkValue);
  if (schema.type === 'boolean') {
    return fc.oneof(fc.constantFrom<unknown>('true', 'false', 0, 1, 'yes', null, []), junkValue);
  }
  return junkValue;
}

type Mutation =
  | { kind: 'drop'; key: string }
  | { kind: 'replace'; key: string; value: unknown }
  | { kind: 'extra'; key: string; value: unknown }
  | { kind: 'whole'; value: unknown };

const EXTRA_KEYS = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'id',
    'organizationId',
    'version',
    'createdAt',
    'isAdmin',
    '',
  ),
  fc.string({ minLength: 1, maxLength: 12 }),
);

/**
 * Bodies that do not conform to an object schema: a valid one with a required field dropped, a field
 * replaced by a wrong value (or null, or a huge string), an unknown field added, or not an object at all.
 */
export function invalidObject(schemas: OpenApiSchemas, original: Schema): fc.Arbitrary<unknown> {
  const schema = schemas.flatten(original);
  const properties = Object.keys(schema.properties ?? {});
  const required = (schema.required ?? []).filter((key) => properties.includes(key));
  const mutations: fc.WeightedArbitrary<Mutation>[] = [
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('extra' as const), key: EXTRA_KEYS, value: junkValue }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant('whole' as const),
        value: fc.oneof(
          fc.constantFrom<unknown>(null, [], '', 0, true, 'string', [{}]),
          junkValue,
          fc.constantFrom(new DeepObject(64), new DeepObject(3000)),
        ),
      }),
    },
  ];
  if (required.length) {
    mutations.push({
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('drop' as const), key: fc.constantFrom(...required) }),
    });
  }
  if (properties.length) {
    const key = fc.constantFrom(...properties);
    // null on its own: optional is not nullable, and a null that slips through meets a NOT NULL column.
    mutations.push({
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant('replace' as const), key, value: fc.constant(null) }),
    });
    mutations.push({
      weight: 3,
      arbitrary: key.chain((name) =>
        fc.record({
          kind: fc.constant('replace' as const),
          key: fc.constant(name),
          value: fc.oneof(
            { weight: 4, arbitrary: wrongValue(schemas, schema.properties?.[name] ?? {}) },
            { weight: 1, arbitrary: hugeStrings },
            { weight: 1, arbitrary: fc.constant(new DeepObject(40)) },
          ),
        }),
      ),
    });
  }
  return fc.tuple(validValue(schemas, schema), fc.oneof(...mutations)).map(([valid, mutation]) => {
    if (mutation.kind === 'whole') return mutation.value;
    const body = { ...(valid as Record<string, unknown>) };
    if (mutation.kind === 'drop') delete body[mutation.key];
    else
      Object.defineProperty(body, mutation.key, {
        value: mutation.value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return body;
  });
}
