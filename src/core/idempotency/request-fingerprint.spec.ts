import { canonicalJson, isValidIdempotencyKey, requestHash } from './request-fingerprint';

describe('request fingerprint', () => {
  it('should sort object members at every level but keep array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it('should hash equal requests alike and different ones apart', () => {
    expect(requestHash({ id: '1' }, { a: 1, b: 2 })).toBe(requestHash({ id: '1' }, { b: 2, a: 1 }));
    expect(requestHash({ id: '1' }, { a: 1 })).not.toBe(requestHash({ id: '2' }, { a: 1 }));
    expect(requestHash({}, { a: 1 })).not.toBe(requestHash({}, { a: '1' }));
    expect(requestHash({}, '{"a":1}')).not.toBe(requestHash({}, { a: 1 }));
    expect(requestHash({}, Buffer.from('x'))).toBe(requestHash({}, Buffer.from('x')));
    expect(requestHash({}, undefined)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('should accept 1 to 255 printable ASCII characters only', () => {
    expect(isValidIdempotencyKey('a')).toBe(true);
    expect(isValidIdempotencyKey(' ~'.repeat(127) + 'x')).toBe(true);
    expect(isValidIdempotencyKey('x'.repeat(256))).toBe(false);
    expect(isValidIdempotencyKey('')).toBe(false);
    expect(isValidIdempotencyKey('a\tb')).toBe(false);
    expect(isValidIdempotencyKey('clé')).toBe(false);
    expect(isValidIdempotencyKey(['a'])).toBe(false);
  });
});
