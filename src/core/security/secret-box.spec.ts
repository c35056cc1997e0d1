import { randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { SecretBox, SecretBoxError } from './secret-box';

function boxWith(key = randomBytes(32)): SecretBox {
  return new SecretBox(AppConfig.fromEnv({ NODE_ENV: 'test', TOTP_ENCRYPTION_KEY: key.toString('base64') }));
}

/** Flips one bit of the base64url part at `index` of a sealed value. */
function tamper(sealed: string, index: number): string {
  const parts = sealed.split('.');
  const bytes = Buffer.from(parts[index], 'base64url');
  bytes[0] ^= 0x01;
  parts[index] = bytes.toString('base64url');
  return parts.join('.');
}

const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
const USER = '019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88';

describe(SecretBox.name, () => {
  const box = boxWith();

  it('should return the plaintext when opening what it sealed', () => {
    expect(box.open(box.seal(SECRET))).toBe(SECRET);
    expect(box.open(box.seal(SECRET, USER), USER)).toBe(SECRET);
    expect(box.open(box.seal('ünïcødé 🔑'))).toBe('ünïcødé 🔑');
    expect(box.open(box.seal(''))).toBe('');
  });

  it('should write v1 with a 12-byte IV, a 16-byte tag and no plaintext when sealing', () => {
    const sealed = box.seal(SECRET);
    const [version, iv, tag, ciphertext] = sealed.split('.');
    expect(version).toBe('v1');
    expect(Buffer.from(iv, 'base64url')).toHaveLength(12);
    expect(Buffer.from(tag, 'base64url')).toHaveLength(16);
    expect(Buffer.from(ciphertext, 'base64url')).toHaveLength(Buffer.byteLength(SECRET));
    expect(sealed).not.toContain(SECRET);
    expect(Buffer.from(ciphertext, 'base64url').toString()).not.toBe(SECRET);
  });

  it('should produce a different sealed value when sealing the same plaintext twice', () => {
    const first = box.seal(SECRET);
    const second = box.seal(SECRET);
    expect(second).not.toBe(first);
    expect(second.split('.')[1]).not.toBe(first.split('.')[1]);
  });

  it.each([
    ['iv', 1],
    ['tag', 2],
    ['ciphertext', 3],
  ])('should refuse to open when one bit of the %s was changed', (_part, index) => {
    const sealed = box.seal(SECRET, USER);
    expect(() => box.open(tamper(sealed, index), USER)).toThrow(SecretBoxError);
  });

  it('should refuse to open when the key is not the one that sealed', () => {
    const sealed = box.seal(SECRET);
    expect(() => boxWith().open(sealed)).toThrow(SecretBoxError);
  });

  it('should refuse to open when the AAD differs from the one sealed with', () => {
    const sealed = box.seal(SECRET, USER);
    expect(() => box.open(sealed, '019ac2f0-5b7a-7c3e-9a51-000000000000')).toThrow(SecretBoxError);
    expect(() => box.open(sealed)).toThrow(SecretBoxError);
    expect(() => box.open(box.seal(SECRET), USER)).toThrow(SecretBoxError);
  });

  it.each([
    ['empty', ''],
    ['plaintext', SECRET],
    ['unknown version', (s: string) => s.replace(/^v1\./, 'v2.')],
    ['missing part', (s: string) => s.split('.').slice(0, 3).join('.')],
    ['extra part', (s: string) => `${s}.AAAA`],
    ['non-base64url characters', (s: string) => s.replace(/\.([^.]+)$/, '.$1+/=')],
    ['short tag', (s: string) => s.replace(/^(v1\.[^.]+\.)[^.]{4}/, '$1')],
    ['short iv', (s: string) => s.replace(/^v1\.[^.]{4}/, 'v1.')],
  ])('should refuse to open when the input is malformed (%s)', (_case, input) => {
    const sealed = typeof input === 'string' ? input : input(box.seal(SECRET));
    expect(() => box.open(sealed)).toThrow(new SecretBoxError());
  });

  it('should refuse to start when the configured key is not 32 bytes', () => {
    const config = AppConfig.fromEnv({ NODE_ENV: 'test' });
    Object.assign(config.auth, { totpEncryptionKey: randomBytes(16) });
    expect(() => new SecretBox(config)).toThrow(/32-byte key/);
  });
});
