import { bool, int, oneOf, str, type EnvVar } from './env-var';

export const DEV_PASSWORD_PEPPER = 'ZGV2LW9ubHktcGVwcGVyLWNoYW5nZS1tZS0wMDAwMDA=';
export const DEV_TOTP_ENCRYPTION_KEY = 'ZGV2LW9ubHktdG90cC1rZXktY2hhbmdlLW1lLTAwMDA=';

const BASE64_32 = /^[A-Za-z0-9+/]{43}=$/;

export const authEnv = {
  AUTH_REGISTRATION_ENABLED: bool({
    default: 'true',
    description: 'Allow POST /auth/register to create new organizations and their owners',
  }),
  AUTH_REQUIRE_VERIFIED_EMAIL: bool({
    default: 'false',
    description: 'Refuse password login until the email address is verified (email OTP, purpose verify_email)',
  }),
  BCRYPT_COST: int({ default: '12', min: 4, max: 15, description: 'bcrypt cost factor for password hashes' }),
  BCRYPT_CONCURRENCY: autoOrInt({
    min: 1,
    max: 1024,
    description:
      "bcrypt hashes/checks running at once, in a child process of their own (its libuv pool, not the API's); auto = CPU cores, at most 8",
  }),
  BCRYPT_NICENESS: int({
    default: '19',
    min: 0,
    max: 19,
    description:
      "Niceness of the bcrypt process (Linux: its own session's autogroup and every thread; 0 = normal priority): at 19 a login flood takes only the CPU that request handling, PostgreSQL and other processes leave over",
  }),
  BCRYPT_QUEUE_MAX: int({
    default: '32',
    min: 0,
    max: 100000,
    description:
      'Password checks/hashes that may wait for a bcrypt slot; one more is answered 503 password-check-busy with Retry-After',
  }),
  PASSWORD_PEPPER: str({
    default: DEV_PASSWORD_PEPPER,
    secret: true,
    pattern: /^[A-Za-z0-9+/]{22,}={0,2}$/,
    patternHint: 'base64 of at least 16 random bytes',
    description: 'Base64 secret mixed into every password (HMAC-SHA-256) before bcrypt; production needs its own',
  }),
  JWT_ALGORITHM: oneOf(['RS256', 'PS256', 'ES256', 'EdDSA'] as const, {
    default: 'RS256',
    description: 'The one algorithm access tokens are signed and accepted with (PS256/ES256/EdDSA for OWASP ASVS 5)',
  }),
  JWT_ISSUER: str({ default: 'atrium', description: 'iss claim of access tokens' }),
  JWT_AUDIENCE: str({ default: 'atrium-api', description: 'aud claim of access tokens' }),
  JWT_ACCESS_TTL_SECONDS: int({ default: '900', min: 60, max: 86400, description: 'Access token lifetime' }),
  JWT_DEV_KEY_DIR: str({
    default: 'var/dev-keys',
    description: 'Where development generates and keeps its signing key when none is configured',
  }),
  REFRESH_TOKEN_TTL_SECONDS: int({
    default: '2592000',
    min: 300,
    max: 31536000,
    description: 'Refresh token (and session) lifetime without use',
  }),
  REFRESH_REUSE_GRACE_SECONDS: int({
    default: '10',
    min: 0,
    max: 120,
    description: 'Window in which a just-rotated refresh token gets the same new pair again (parallel tabs)',
  }),
  MFA_TOKEN_TTL_SECONDS: int({
    default: '300',
    min: 30,
    max: 3600,
    description: 'Lifetime of the 2FA-pending login token',
  }),
  OTP_TTL_SECONDS: int({ default: '600', min: 60, max: 86400, description: 'Lifetime of email one-time codes' }),
  OTP_MAX_ATTEMPTS: int({ default: '5', min: 1, max: 20, description: 'Wrong guesses before an email code is void' }),
  LOCKOUT_THRESHOLD: int({
    default: '5',
    min: 1,
    max: 100,
    description: 'Failed logins or 2FA codes in a row that lock the account',
  }),
  LOCKOUT_BASE_SECONDS: int({
    default: '60',
    min: 1,
    max: 86400,
    description: 'First lockout period; each further lockout doubles it',
  }),
  LOCKOUT_MAX_SECONDS: int({ default: '3600', min: 1, max: 604800, description: 'Longest lockout period' }),
  STEP_UP_MAX_AGE_SECONDS: int({
    default: '300',
    min: 30,
    max: 86400,
    description: 'How recent a password/TOTP confirmation must be for sensitive actions (step-up)',
  }),
  TOTP_ENCRYPTION_KEY: str({
    default: DEV_TOTP_ENCRYPTION_KEY,
    secret: true,
    pattern: BASE64_32,
    patternHint: 'base64 of exactly 32 random bytes (openssl rand -base64 32)',
    description: 'AES-256-GCM key that encrypts TOTP secrets at rest; production needs its own',
  }),
  TOTP_ISSUER: str({ default: 'Atrium', description: 'Issuer shown by authenticator apps' }),
};

/** `auto` (resolved by AppConfig from the thread pool and the CPUs) or an integer in [min, max]. */
function autoOrInt(opts: { min: number; max: number; description: string }): EnvVar<number | 'auto'> {
  const number = int(opts);
  return {
    description: opts.description,
    default: 'auto',
    parse: (raw) => (raw.trim() === 'auto' ? 'auto' : number.parse(raw)),
  };
}
