import fc from 'fast-check';
import { matchesFormat, OpenApiSchemas, type Schema } from '../helpers/openapi-schema';
import { invalidObject, validValue } from './arbitraries';
import { materialize } from './symbols';

// Unit tests of the schema validator (and of the generators built on it); no app, no database.

const document = {
  components: {
    schemas: {
      Meta: {
        type: 'object',
        properties: { limit: { type: 'integer' }, nextCursor: { type: 'string', nullable: true } },
        required: ['limit', 'nextCursor'],
      },
      Page: { type: 'object', properties: { page: { $ref: '#/components/schemas/Meta' } }, required: ['page'] },
      Item: {
        type: 'object',
        properties: {
          id: { type: 'string', format: 'uuid' },
          status: { type: 'string', enum: ['a', 'b'] },
          at: { type: 'string', format: 'date-time' },
          tags: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 3 }, maxItems: 2 },
          extra: { type: 'object', additionalProperties: true },
          parent: { nullable: true, type: 'object', allOf: [{ $ref: '#/components/schemas/Meta' }] },
        },
        required: ['id', 'status'],
      },
      Token: { type: 'object', properties: { token: { type: 'string' } }, required: ['token'] },
      Mfa: { type: 'object', properties: { mfa: { type: 'boolean', enum: [true] } }, required: ['mfa'] },
      Create: {
        type: 'object',
        properties: {
          name: { type: 'string', minLength: 1, maxLength: 20 },
          email: { type: 'string', format: 'email', maxLength: 254 },
          count: { type: 'integer', minimum: 0, maximum: 10 },
          kind: { type: 'string', enum: ['x', 'y'] },
          slug: { type: 'string', pattern: '^[a-z]+$', maxLength: 10 },
        },
        required: ['name', 'count'],
      },
    } satisfies Record<string, Schema>,
  },
};

const schemas = new OpenApiSchemas(document);
const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const pageOfItems: Schema = {
  allOf: [
    ref('Page'),
    { type: 'object', required: ['data'], properties: { data: { type: 'array', items: ref('Item') } } },
  ],
};
const item = { id: '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88', status: 'a' };

function messages(schema: Schema, value: unknown, strict = false): string[] {
  return schemas.validate(schema, value, { strict }).map((e) => `${e.path} ${e.message}`);
}

describe('OpenApiSchemas', () => {
  it('should resolve $refs and accept a conforming value', () => {
    expect(messages(pageOfItems, { page: { limit: 1, nextCursor: null }, data: [item] }, true)).toEqual([]);
  });

  it('should report wrong types, missing required fields and enum misses with their paths', () => {
    expect(messages(pageOfItems, { page: { limit: 1.5 }, data: [{ id: 'x', status: 'c' }, 3] })).toEqual([
      '$.page missing required nextCursor',
      '$.page.limit expected integer, got number',
      '$.data[0].id "x" is not a uuid',
      '$.data[0].status "c" is not one of ["a","b"]',
      '$.data[1] expected object, got number',
    ]);
    expect(messages(pageOfItems, { page: { limit: 1, nextCursor: null } })).toEqual(['$ missing required data']);
  });

  it('should allow null only where nullable (also around an allOf reference)', () => {
    expect(messages(ref('Item'), { ...item, parent: null })).toEqual([]);
    expect(messages(ref('Item'), { ...item, parent: { limit: 1, nextCursor: 'c' } })).toEqual([]);
    expect(messages(ref('Item'), { ...item, status: null })).toEqual(['$.status expected string, got null']);
    expect(messages(ref('Item'), { ...item, parent: { limit: 'x', nextCursor: null } })).toEqual([
      '$.parent.limit expected integer, got string',
    ]);
  });

  it('should report undocumented fields in strict mode only, counting allOf branches as declared', () => {
    const value = { page: { limit: 1, nextCursor: null, total: 3 }, data: [{ ...item, secret: 'x' }], more: true };
    expect(messages(pageOfItems, value)).toEqual([]);
    expect(messages(pageOfItems, value, true)).toEqual([
      '$.page.total is not documented',
      '$.data[0].secret is not documented',
      '$.more is not documented',
    ]);
    // Free-form objects stay free-form.
    expect(messages(ref('Item'), { ...item, extra: { anything: [1] } }, true)).toEqual([]);
  });

  it('should check string and array bounds, formats and patterns', () => {
    expect(messages(ref('Item'), { ...item, tags: ['', 'abcd', 'ok'], at: 'yesterday' })).toEqual([
      '$.tags more than 2 items',
      '$.tags[0] shorter than 1',
      '$.tags[1] longer than 3',
      '$.at "yesterday" is not a date-time',
    ]);
    expect(messages({ type: 'string', pattern: '^[a-z]+$' }, 'A')).toEqual(['$ does not match /^[a-z]+$/']);
    expect(messages({ type: 'integer', minimum: 1, maximum: 3 }, 4)).toEqual(['$ above the maximum 3']);
    expect(messages({ type: 'number', minimum: 0, exclusiveMinimum: true }, 0)).toEqual(['$ below the minimum 0']);
  });

  it('should require exactly one oneOf branch, and say why each failed', () => {
    const either: Schema = { oneOf: [ref('Token'), ref('Mfa')] };
    expect(messages(either, { token: 't' }, true)).toEqual([]);
    expect(messages(either, { mfa: true }, true)).toEqual([]);
    const [error] = messages(either, { mfa: false }, true);
    expect(error).toContain('matches 0 oneOf branches');
    expect(error).toContain('#1 (Mfa): $.mfa false is not one of [true]');
    expect(messages({ anyOf: [{ type: 'string' }, { type: 'integer' }] }, 1.5)).toEqual(['$ matches no anyOf branch']);
  });

  it('should check formats loosely', () => {
    expect(matchesFormat('uuid', '019AC2F0-5B7A-7C3E-9A51-6F1D0E2B4C88')).toBe(true);
    expect(matchesFormat('date-time', '2026-11-01T00:00:00.000Z')).toBe(true);
    expect(matchesFormat('date-time', '2026-11-01')).toBe(false);
    expect(matchesFormat('email', 'a@b')).toBe(true);
    expect(matchesFormat('email', 'a b@c')).toBe(false);
    expect(matchesFormat('unknown-format', 'anything')).toBe(true);
  });

  it('should refuse unresolvable references', () => {
    expect(() => schemas.validate(ref('Nope'), {})).toThrow('unresolvable $ref');
  });
});

describe('schema arbitraries', () => {
  it('should generate values that conform to the schema', () => {
    fc.assert(
      fc.property(validValue(schemas, ref('Create')), (value) => {
        expect(
          messages(
            ref('Create'),
            materialize(value, () => 'id'),
            true,
          ),
        ).toEqual([]);
      }),
    );
  });

  it('should generate invalid bodies: most of them do not conform', () => {
    const samples = fc.sample(invalidObject(schemas, ref('Create')), { numRuns: 300, seed: 42 });
    const failing = samples.filter(
      (value) =>
        messages(
          ref('Create'),
          materialize(value, () => 'id'),
          true,
        ).length > 0,
    );
    // Junk that happens to fit (a replaced optional field that is valid after all) is allowed, but rare.
    expect(failing.length).toBeGreaterThan(270);
  });
});
