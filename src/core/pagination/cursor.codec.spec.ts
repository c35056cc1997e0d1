import { createHmac } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { ValidationException } from '../exceptions/app.exception';
import { CursorCodec, MAX_CURSOR_LENGTH, type CursorExpectation, type CursorPayload } from './cursor.codec';

const SECRET = 'unit-test-cursor-secret-0123456789';
const ID = '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88';

function codecWith(secret: string): CursorCodec {
  return new CursorCodec(AppConfig.fromEnv({ NODE_ENV: 'test', CURSOR_SECRET: secret }));
}

/** Signs any JSON as the codec would (mirrors its key derivation), to reach the checks behind the tag. */
function forge(json: string, secret = SECRET): string {
  const key = createHmac('sha256', secret).update('atrium:list-cursor:v1').digest();
  const body = Buffer.from(json).toString('base64url');
  const tag = createHmac('sha256', key).update(body).digest().subarray(0, 16).toString('base64url');
  return `${body}.${tag}`;
}

function expectInvalidCursor(decode: () => unknown): void {
  let caught: unknown;
  try {
    decode();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationException);
  expect((caught as ValidationException).errors).toEqual([
    { field: 'cursor', message: 'cursor is invalid or does not belong to this list' },
  ]);
  expect((caught as ValidationException).status).toBe(400);
}

describe(CursorCodec.name, () => {
  const codec = codecWith(SECRET);
  const byDate: CursorExpectation = { scope: 'customers', field: 'createdAt', direction: 'desc', type: 'date' };
  const byName: CursorExpectation = { scope: 'customers', field: 'name', direction: 'asc', type: 'string' };
  const byScore: CursorExpectation = { scope: 'customers', field: 'score', direction: 'asc', type: 'number' };

  function cursorFor(expectation: CursorExpectation, value: CursorPayload['value'], id = ID): string {
    const { type: _type, ...position } = expectation;
    return codec.encode({ ...position, value, id });
  }

  describe('round trip', () => {
    it.each([
      ['an ASCII string', 'Acme Ltd'],
      ['an empty string', ''],
      ['a string with quotes, dots and unicode', 'Ünïcødé "quoted" a.b 🚀 \u0000'],
    ])('should return the same string key when the key is %s', (_label, value) => {
      expect(codec.decode(cursorFor(byName, value), byName)).toEqual({
        scope: 'customers',
        field: 'name',
        direction: 'asc',
        value,
        id: ID,
      });
    });

    it.each([0, 1, -42, 2147483647, 3.141592653589793, -0.1, Number.MAX_SAFE_INTEGER])(
      'should return the same number key when the key is %p',
      (value) => {
        expect(codec.decode(cursorFor(byScore, value), byScore).value).toBe(value);
      },
    );

    it.each([
      new Date('2024-02-29T23:59:59.999Z'),
      new Date(0),
      new Date('1969-07-20T20:17:40.123Z'),
      new Date('+010000-01-01T00:00:00.000Z'),
    ])('should return an equal Date when the key is %p', (value) => {
      const decoded = codec.decode(cursorFor(byDate, value), byDate);
      expect(decoded.value).toBeInstanceOf(Date);
      expect((decoded.value as Date).getTime()).toBe(value.getTime());
      expect(decoded.id).toBe(ID);
    });

    it('should produce a URL-safe cursor that does not show its contents when encoded', () => {
      const cursor = cursorFor(byName, 'Acme Ltd');
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{22}$/);
      expect(cursor).not.toContain('Acme');
    });

    it('should refuse to encode a key that cannot round-trip when given an invalid Date or NaN', () => {
      expect(() => cursorFor(byDate, new Date(Number.NaN))).toThrow('invalid Date');
      expect(() => cursorFor(byScore, Number.NaN)).toThrow('non-finite');
    });
  });

  describe('tampering', () => {
    const valid = cursorFor(byDate, new Date('2025-01-02T03:04:05.678Z'));

    it('should reject the cursor when any single character is changed', () => {
      for (let index = 0; index < valid.length; index++) {
        const replacement = valid[index] === 'A' ? 'B' : 'A';
        const tampered = valid.slice(0, index) + replacement + valid.slice(index + 1);
        expectInvalidCursor(() => codec.decode(tampered, byDate));
      }
    });

    it('should reject the cursor when the tag is replaced', () => {
      const [body] = valid.split('.');
      expectInvalidCursor(() => codec.decode(`${body}.${Buffer.alloc(16, 7).toString('base64url')}`, byDate));
      expectInvalidCursor(() => codec.decode(`${body}.`, byDate));
      expectInvalidCursor(() => codec.decode(body, byDate));
    });

    it('should reject the cursor when the payload of one valid cursor is paired with the tag of another', () => {
      const other = cursorFor(byDate, new Date('2025-01-02T03:04:05.679Z'));
      const [body] = valid.split('.');
      const [, otherTag] = other.split('.');
      expectInvalidCursor(() => codec.decode(`${body}.${otherTag}`, byDate));
    });

    it('should reject the cursor when it is truncated at any length', () => {
      for (let length = 0; length < valid.length; length++) {
        expectInvalidCursor(() => codec.decode(valid.slice(0, length), byDate));
      }
    });

    it('should reject the cursor when the tag is spelled with extra characters', () => {
      expectInvalidCursor(() => codec.decode(`${valid}=`, byDate));
      expectInvalidCursor(() => codec.decode(`${valid}.x`, byDate));
      expectInvalidCursor(() => codec.decode(` ${valid}`, byDate));
    });

    it.each(['', '.', '..', 'abc', 'a.b', 'null', '{"v":1}', '💥.💥', '%00', 'eyJ2IjoxfQ', 'eyJ2IjoxfQ.'])(
      'should reject garbage when given %p',
      (garbage) => {
        expectInvalidCursor(() => codec.decode(garbage, byDate));
      },
    );

    it('should reject the cursor when it is longer than the limit, however well signed', () => {
      const huge = cursorFor(byName, 'x'.repeat(MAX_CURSOR_LENGTH));
      expect(huge.length).toBeGreaterThan(MAX_CURSOR_LENGTH);
      expectInvalidCursor(() => codec.decode(huge, byName));
      expectInvalidCursor(() => codec.decode('A'.repeat(10_000_000), byName));
    });

    it('should reject the cursor when it was signed with another secret', () => {
      const foreign = codecWith('another-secret-another-secret-xyz').encode({ ...byName, value: 'a', id: ID });
      expectInvalidCursor(() => codec.decode(foreign, byName));
    });
  });

  describe('foreign cursors', () => {
    it('should reject the cursor when it belongs to another list', () => {
      const cursor = cursorFor(byName, 'Acme');
      expectInvalidCursor(() => codec.decode(cursor, { ...byName, scope: 'invoices' }));
    });

    it('should reject the cursor when it was made for another sort field', () => {
      const cursor = cursorFor(byName, 'Acme');
      expectInvalidCursor(() => codec.decode(cursor, { ...byName, field: 'email' }));
    });

    it('should reject the cursor when it was made for the other direction', () => {
      const cursor = cursorFor(byName, 'Acme');
      expectInvalidCursor(() => codec.decode(cursor, { ...byName, direction: 'desc' }));
    });

    it('should reject the cursor when the sort key has another type than the field', () => {
      expectInvalidCursor(() => codec.decode(cursorFor(byName, '42'), { ...byName, type: 'number' }));
      expectInvalidCursor(() => codec.decode(cursorFor(byName, 'Acme'), { ...byName, type: 'date' }));
    });
  });

  describe('signed but malformed contents', () => {
    const wire = { v: 1, s: 'customers', k: 'createdAt', d: 'desc', x: '2025-01-02T03:04:05.678Z', i: ID };

    it('should accept the forged baseline when it matches the wire format', () => {
      expect(codec.decode(forge(JSON.stringify(wire)), byDate).value).toEqual(new Date(wire.x));
    });

    it.each([
      ['invalid JSON', '{"v":1,'],
      ['a JSON array', '[1]'],
      ['JSON null', 'null'],
      ['a JSON number', '42'],
      ['another version', JSON.stringify({ ...wire, v: 2 })],
      ['no version', JSON.stringify({ ...wire, v: undefined })],
      ['an unknown direction', JSON.stringify({ ...wire, d: 'up' })],
      ['a non-uuid id', JSON.stringify({ ...wire, i: "1' OR 1=1 --" })],
      ['a numeric id', JSON.stringify({ ...wire, i: 7 })],
      ['a missing key', JSON.stringify({ ...wire, x: undefined })],
      ['a number for a date key', JSON.stringify({ ...wire, x: 1735787045678 })],
      ['a date without milliseconds', JSON.stringify({ ...wire, x: '2025-01-02T03:04:05Z' })],
      ['a date with an offset', JSON.stringify({ ...wire, x: '2025-01-02T04:04:05.678+01:00' })],
      ['an impossible date', JSON.stringify({ ...wire, x: '2025-02-30T03:04:05.678Z' })],
      ['an object key', JSON.stringify({ ...wire, x: { $gt: '' } })],
    ])('should reject a correctly signed cursor when it holds %s', (_label, json) => {
      expectInvalidCursor(() => codec.decode(forge(json), byDate));
    });

    it('should reject a non-finite number key when the field is numeric', () => {
      const numeric = { ...wire, k: 'score', d: 'asc' };
      expectInvalidCursor(() => codec.decode(forge(JSON.stringify({ ...numeric, x: '7' })), byScore));
      expectInvalidCursor(() =>
        codec.decode(forge(JSON.stringify(numeric).replace(/"x":"[^"]*"/, '"x":1e999')), byScore),
      );
      expect(codec.decode(forge(JSON.stringify({ ...numeric, x: 7 })), byScore).value).toBe(7);
    });
  });
});
