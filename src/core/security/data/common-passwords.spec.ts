import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { COMMON_PASSWORDS } from './common-passwords';

describe('COMMON_PASSWORDS', () => {
  it('should hold exactly the lines of common-passwords.txt when both are edited', () => {
    const lines = readFileSync(join(__dirname, 'common-passwords.txt'), 'utf8').trimEnd().split('\n');
    expect(COMMON_PASSWORDS).toEqual(lines);
  });

  it('should be lower-case, trimmed and free of duplicates when loaded into a case-insensitive set', () => {
    expect(COMMON_PASSWORDS.length).toBeGreaterThanOrEqual(1000);
    expect(new Set(COMMON_PASSWORDS).size).toBe(COMMON_PASSWORDS.length);
    for (const password of COMMON_PASSWORDS) {
      expect(password).toBe(password.trim().toLowerCase());
      expect(password).not.toBe('');
    }
  });

  it('should include the best-known passwords, short and long, when loaded', () => {
    for (const password of ['123456', 'password', 'qwerty', '123456789', '111111', 'iloveyou']) {
      expect(COMMON_PASSWORDS).toContain(password);
    }
    // Only entries of 12+ characters matter behind the length rule, so the list must carry them too.
    expect(COMMON_PASSWORDS.filter((password) => [...password].length >= 12).length).toBeGreaterThanOrEqual(150);
  });
});
