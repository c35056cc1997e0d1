import { execFileSync } from 'node:child_process';
import { AppConfig } from '../../config/app.config';
import { TotpService, totpStep } from './totp';

const OATHTOOL = '/usr/bin/oathtool';
const SECRET = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
// 10 s into a step, so ±30 s lands in the neighbouring steps and never on a boundary.
const NOW = Date.parse('2024-05-01T12:00:10Z');
const STEP = totpStep(NOW);

/**
 * Codes from an independent RFC 6238 implementation (OATH Toolkit, Debian package `oathtool`): `count`
 * consecutive codes starting at the step of `at`. Never otplib, which is what is under test.
 */
function oathtool(secret: string, at: number, count = 1): string[] {
  const when = new Date(at)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, ' UTC');
  const args = ['--totp', '--base32', `--now=${when}`, `--window=${count - 1}`, secret];
  return execFileSync(OATHTOOL, args, { encoding: 'utf8' }).trim().split('\n');
}

/** The oathtool code for the step `offset` steps away from NOW. */
function codeAt(offset: number, secret = SECRET): string {
  return oathtool(secret, NOW + offset * 30_000)[0];
}

describe(TotpService.name, () => {
  const totp = new TotpService(AppConfig.fromEnv({ NODE_ENV: 'test', TOTP_ISSUER: 'Atrium CRM' }));

  it('should compute the same time step as floor(unix seconds / 30)', () => {
    // 2024-05-01T12:00:10Z is 1714564810 s after the epoch; 1714564810 / 30 = 57152160.33…
    expect(STEP).toBe(57_152_160);
    expect(totpStep(NOW + 19_999)).toBe(STEP);
    expect(totpStep(NOW + 20_000)).toBe(STEP + 1);
  });

  it.each([
    ['now', 0],
    ['30 s ago', -1],
    ['30 s ahead', 1],
  ])('should return the matching step when the code is for %s', (_when, offset) => {
    expect(totp.verify(codeAt(offset), SECRET, null, NOW)).toBe(STEP + offset);
  });

  it.each([
    ['60 s ago', -2],
    ['60 s ahead', 2],
    ['90 s ago', -3],
    ['90 s ahead', 3],
  ])('should return null when the code is for %s (outside the one-step window)', (_when, offset) => {
    expect(totp.verify(codeAt(offset), SECRET, null, NOW)).toBeNull();
  });

  it('should agree with oathtool on consecutive codes when given its window output', () => {
    const codes = oathtool(SECRET, NOW - 30_000, 3);
    expect(codes).toHaveLength(3);
    codes.forEach((code, i) => expect(totp.verify(code, SECRET, null, NOW)).toBe(STEP - 1 + i));
  });

  it('should return null when the code is valid for another secret', () => {
    const other = totp.generateSecret();
    expect(totp.verify(codeAt(0, other), SECRET, null, NOW)).toBeNull();
  });

  it('should refuse a replay when the step of the code was already accepted', () => {
    const code = codeAt(0);
    const accepted = totp.verify(code, SECRET, null, NOW);
    expect(accepted).toBe(STEP);
    expect(totp.verify(code, SECRET, accepted, NOW)).toBeNull();
    expect(totp.verify(code, SECRET, accepted, NOW + 20_000)).toBeNull();
  });

  it('should accept a newer code when an older step was accepted', () => {
    expect(totp.verify(codeAt(0), SECRET, STEP - 1, NOW)).toBe(STEP);
    expect(totp.verify(codeAt(1), SECRET, STEP, NOW)).toBe(STEP + 1);
  });

  it('should refuse an older code when a newer one was accepted', () => {
    const newer = totp.verify(codeAt(1), SECRET, null, NOW);
    expect(newer).toBe(STEP + 1);
    expect(totp.verify(codeAt(0), SECRET, newer, NOW)).toBeNull();
    expect(totp.verify(codeAt(-1), SECRET, newer, NOW)).toBeNull();
  });

  it('should return null rather than throw when the last accepted step is ahead of the whole window', () => {
    expect(totp.verify(codeAt(0), SECRET, STEP + 5, NOW)).toBeNull();
  });

  it.each(['', '12345', '1234567', 'abcdef', ' 123456', '123 456', '12345x', '١٢٣٤٥٦'])(
    'should return null without throwing when the code is %p (not six ASCII digits)',
    (code) => {
      expect(totp.verify(code, SECRET, null, NOW)).toBeNull();
    },
  );

  it('should use the current time when no time is given', () => {
    const now = Date.now();
    const step = totp.verify(oathtool(SECRET, now)[0], SECRET, null);
    // The clock may cross a step boundary between the two calls; either neighbour is right.
    expect(step).not.toBeNull();
    expect(Math.abs((step as number) - totpStep(now))).toBeLessThanOrEqual(1);
  });

  describe('generateSecret', () => {
    it('should return 32 base32 characters (160 bits) that another implementation accepts', () => {
      const secret = totp.generateSecret();
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      expect(totp.verify(codeAt(0, secret), secret, null, NOW)).toBe(STEP);
    });

    it('should return a different secret when called again', () => {
      const secrets = new Set(Array.from({ length: 50 }, () => totp.generateSecret()));
      expect(secrets.size).toBe(50);
    });
  });

  describe('keyUri', () => {
    it('should name the issuer, account and RFC 6238 parameters when building the URI', () => {
      const uri = totp.keyUri('alice+2fa@example.com', SECRET);
      expect(uri.startsWith('otpauth://totp/Atrium%20CRM:alice%2B2fa%40example.com?')).toBe(true);
      const query = new URLSearchParams(uri.slice(uri.indexOf('?') + 1));
      expect(Object.fromEntries(query)).toEqual({
        secret: SECRET,
        issuer: 'Atrium CRM',
        algorithm: 'SHA1',
        digits: '6',
        period: '30',
      });
      // Spaces as %20: authenticator apps show a "+" literally.
      expect(uri).toContain('issuer=Atrium%20CRM');
    });
  });

  describe('qrCodeDataUrl', () => {
    it('should return a PNG data URL when given a key URI', async () => {
      const dataUrl = await totp.qrCodeDataUrl(totp.keyUri('alice@example.com', SECRET));
      expect(dataUrl.startsWith('data:image/png;base64,')).toBe(true);
      const png = Buffer.from(dataUrl.slice('data:image/png;base64,'.length), 'base64');
      expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    });
  });
});
