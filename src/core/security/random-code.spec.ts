import {
  normalizeRecoveryCode,
  randomDigits,
  randomToken,
  RECOVERY_CODE_ALPHABET,
  recoveryCode,
  sha256,
} from './random-code';

describe(randomDigits.name, () => {
  it('should return exactly n decimal digits when asked for n', () => {
    for (const n of [1, 6, 8, 20]) {
      expect(randomDigits(n)).toMatch(new RegExp(`^[0-9]{${n}}$`));
    }
  });

  it('should keep leading zeros when the first digit drawn is 0', () => {
    const codes = Array.from({ length: 500 }, () => randomDigits(3));
    // P(no leading zero in 500 draws) = 0.9^500 ≈ 1e-23.
    expect(codes.some((code) => code.startsWith('0'))).toBe(true);
    expect(codes.every((code) => code.length === 3)).toBe(true);
  });

  it('should spread digits evenly when many are drawn', () => {
    const digits = randomDigits(10_000);
    const counts = new Array<number>(10).fill(0);
    for (const digit of digits) counts[Number(digit)]++;
    const expected = digits.length / 10;
    const chiSquare = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    // 9 degrees of freedom: a fair source exceeds 40 with probability < 1e-5; a skewed or stuck one is far above.
    expect(chiSquare).toBeLessThan(40);
    expect(Math.min(...counts)).toBeGreaterThan(0);
  });

  it('should throw when n is not a positive integer', () => {
    expect(() => randomDigits(0)).toThrow(RangeError);
    expect(() => randomDigits(2.5)).toThrow(RangeError);
  });
});

describe(randomToken.name, () => {
  it('should encode 32 random bytes as 43 base64url characters when called without a size', () => {
    const token = randomToken();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(token, 'base64url')).toHaveLength(32);
  });

  it('should encode the requested number of bytes when given a size', () => {
    expect(Buffer.from(randomToken(16), 'base64url')).toHaveLength(16);
  });

  it('should return a different token when called again', () => {
    const tokens = new Set(Array.from({ length: 100 }, () => randomToken()));
    expect(tokens.size).toBe(100);
  });
});

describe(sha256.name, () => {
  it('should return the FIPS 180-2 digest of "abc" as lower-case hex when given "abc"', () => {
    expect(sha256('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256(Buffer.from('abc'))).toBe(sha256('abc'));
  });
});

describe(recoveryCode.name, () => {
  const codes = Array.from({ length: 500 }, () => recoveryCode());

  it('should format three groups of four unambiguous characters when generated', () => {
    const group = `[${RECOVERY_CODE_ALPHABET}]{4}`;
    for (const code of codes) expect(code).toMatch(new RegExp(`^${group}-${group}-${group}$`));
  });

  it('should never contain characters people confuse when generated', () => {
    expect(codes.join('')).not.toMatch(/[01oli]/);
    expect(RECOVERY_CODE_ALPHABET).not.toMatch(/[01oli]/);
  });

  it('should use the whole alphabet and not repeat when many are generated', () => {
    const used = new Set(codes.join('').replace(/-/g, ''));
    expect(used.size).toBe(RECOVERY_CODE_ALPHABET.length);
    expect(new Set(codes).size).toBe(codes.length);
  });
});

describe(normalizeRecoveryCode.name, () => {
  it('should ignore case, spaces and hyphens when normalising typed input', () => {
    const code = recoveryCode();
    expect(normalizeRecoveryCode(code)).toBe(code);
    expect(normalizeRecoveryCode(code.toUpperCase().replace(/-/g, ' '))).toBe(code);
    expect(normalizeRecoveryCode(` ${code.replace(/-/g, '')} `)).toBe(code);
  });

  it('should not invent a code when the input has the wrong length', () => {
    expect(normalizeRecoveryCode('abcd-efgh')).toBe('abcdefgh');
  });
});
