import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { TEST_PASSWORD } from '../helpers/auth';
import { loginAs } from '../helpers/fixtures';
import { createTestApp } from '../helpers/test-app';
import { ROUTE_FIXTURES } from './support/object-fixtures';
import { openApiDocument, operationsOf, propertyPaths, resolve, type OpenApiDocument } from './support/openapi';
import { PERMISSION_ROUTE_REQUESTS } from './support/requests';
import { apiRoutes, urlOf } from './support/route-table';
import { expectJson, OrgFixture, send, type Json } from './support/world';

/*
 * Read side of object property level authorization: what responses carry. (1) Every GET route the owner
 * can call, and the auth responses, walked with real data around them (a member with 2FA and recovery codes,
 * rotated refresh tokens, a changed password, another organization): no body may contain a password hash,
 * TOTP secret, recovery code, refresh-token or OTP hash, a server secret, or anything of the other
 * organization. (2) The property names of every response schema in the OpenAPI document are a committed
 * snapshot, so adding a field to a response is a visible, reviewed change; names that sound secret are
 * refused unless listed below with the reason they are returned.
 */

/** Response properties whose names sound secret, returned on purpose. `<operation> <status> <property>`. */
const DOCUMENTED_SECRET_PROPERTIES: Record<string, string> = {
  'POST /api/v1/auth/register 201 accessToken': 'the token pair is what registration returns',
  'POST /api/v1/auth/register 201 refreshToken': 'the token pair is what registration returns',
  'POST /api/v1/auth/register 201 tokenType': 'always "Bearer"',
  'POST /api/v1/auth/login 200 accessToken': 'the token pair is what login returns',
  'POST /api/v1/auth/login 200 refreshToken': 'the token pair is what login returns',
  'POST /api/v1/auth/login 200 tokenType': 'always "Bearer"',
  'POST /api/v1/auth/login 200 mfaToken': 'the opaque, single-use 2FA challenge of a password step',
  'POST /api/v1/auth/login/2fa 200 accessToken': 'the token pair is what a 2FA login returns',
  'POST /api/v1/auth/login/2fa 200 refreshToken': 'the token pair is what a 2FA login returns',
  'POST /api/v1/auth/login/2fa 200 tokenType': 'always "Bearer"',
  'POST /api/v1/auth/otp/verify 200 accessToken': 'a login code signs in',
  'POST /api/v1/auth/otp/verify 200 refreshToken': 'a login code signs in',
  'POST /api/v1/auth/otp/verify 200 tokenType': 'always "Bearer"',
  'POST /api/v1/auth/otp/verify 200 mfaToken': 'a login code of a 2FA account leads to the 2FA step',
  'POST /api/v1/auth/refresh 200 accessToken': 'rotation returns the new pair',
  'POST /api/v1/auth/refresh 200 refreshToken': 'rotation returns the new pair',
  'POST /api/v1/auth/refresh 200 tokenType': 'always "Bearer"',
  'POST /api/v1/auth/2fa/setup 200 secret': 'the new TOTP secret, shown once for manual entry',
  'POST /api/v1/auth/2fa/setup 200 otpauthUrl': 'the same secret as an otpauth:// URI for authenticator apps',
  'POST /api/v1/auth/2fa/enable 200 recoveryCodes': 'the ten recovery codes, shown once',
  'GET /api/v1/audit-logs 200 data.hash': 'hash-chain digest of the entry (tamper evidence, not a secret)',
  'GET /api/v1/audit-logs 200 data.prevHash': 'hash-chain digest of the previous entry',
  'GET /api/v1/audit-logs/:id 200 hash': 'hash-chain digest of the entry',
  'GET /api/v1/audit-logs/:id 200 prevHash': 'hash-chain digest of the previous entry',
};

const SECRET_SOUNDING = /pass(word)?|hash|secret|token|pepper|salt|recovery|totp|otp|private|credential|api.?key/i;

/** JSON keys no response may carry, at any depth. */
const FORBIDDEN_KEYS =
  /^(password|passwordHash|password_hash|secret|totpSecret|totp_secret|tokenHash|token_hash|codeHash|code_hash|recoveryCodes|pepper|privateKey|successorSealed|successor_sealed)$/;

function keysOf(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) value.forEach((item) => keysOf(item, out));
  else if (value && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      out.push(key);
      keysOf(inner, out);
    }
  }
  return out;
}

describe('API3:2023 Broken Object Property Level Authorization: excessive data exposure — ASVS 5.0 V15.3.1, V14.2.6, V8.2.3, V16.5.1', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let document: OpenApiDocument;
  let orgA: OrgFixture;
  let orgB: OrgFixture;
  let department: string;
  const pepper = randomBytes(32);
  const totpKey = randomBytes(32);
  const cursorSecret = randomBytes(24).toString('hex');
  /** Strings that must appear in no response (collected while the data is made). */
  const secrets = new Map<string, string>();
  /** Identifiers of organization B that must never appear in A's responses. */
  const foreign = new Map<string, string>();
  /** Every response body seen, by request. */
  const bodies: { request: string; body: string }[] = [];

  /** The member with 2FA: email and (changed) password. */
  let member: { email: string; password: string };

  function record(request: string, res: { body: string }): void {
    bodies.push({ request, body: res.body });
  }

  beforeAll(async () => {
    app = await createTestApp({
      PASSWORD_PEPPER: pepper.toString('base64'),
      TOTP_ENCRYPTION_KEY: totpKey.toString('base64'),
      CURSOR_SECRET: cursorSecret,
    });
    db = app.get(DataSource);
    document = await openApiDocument(app);
    [orgA, orgB] = await Promise.all([OrgFixture.create(app, 'exposure-a'), OrgFixture.create(app, 'exposure-b')]);
    department = await orgA.department();

    secrets.set('PASSWORD_PEPPER (base64)', pepper.toString('base64'));
    secrets.set('PASSWORD_PEPPER (hex)', pepper.toString('hex'));
    secrets.set('TOTP_ENCRYPTION_KEY (base64)', totpKey.toString('base64'));
    secrets.set('TOTP_ENCRYPTION_KEY (hex)', totpKey.toString('hex'));
    secrets.set('CURSOR_SECRET', cursorSecret);
    const pem = readFileSync(process.env.JWT_PRIVATE_KEY_FILE ?? '', 'utf8').split('\n');
    secrets.set('JWT private key (a line of it)', pem[Math.floor(pem.length / 2)]);

    // A member with 2FA on, recovery codes, a changed password and a rotated refresh token.
    const memberId = await orgA.member(department);
    await orgA.assignment(memberId, await orgA.role(['customers:read']), department);
    const [{ email }] = await db.query<{ email: string }[]>('SELECT email FROM users WHERE id = $1', [memberId]);
    const token = await loginAs(app, email);
    const setup = expectJson<{ secret: string; otpauthUrl: string }>(
      await send(app, 'POST', '/api/v1/auth/2fa/setup', token),
      200,
      '2fa setup',
    );
    secrets.set('TOTP secret (base32)', setup.secret);
    const code = totpNow(setup.secret);
    const enabled = expectJson<{ recoveryCodes: string[] }>(
      await send(app, 'POST', '/api/v1/auth/2fa/enable', token, { json: { code } }),
      200,
      '2fa enable',
    );
    enabled.recoveryCodes.forEach((recovery, i) => secrets.set(`recovery code ${i}`, recovery));
    const newPassword = `Changed-${randomBytes(6).toString('hex')}-pw`;
    expectJson(
      await send(app, 'POST', '/api/v1/auth/password/change', token, {
        json: { currentPassword: TEST_PASSWORD, newPassword },
      }),
      204,
      'password change',
    );
    secrets.set('a new password in plain text', newPassword);
    member = { email, password: newPassword };
    const refreshed = expectJson<{ refreshToken: string }>(
      await send(app, 'POST', '/api/v1/auth/refresh', null, { json: { refreshToken: orgA.owner.refreshToken } }),
      200,
      'refresh',
    );
    orgA.owner.refreshToken = refreshed.refreshToken;
    // An email code waiting (its hash is stored).
    await send(app, 'POST', '/api/v1/auth/otp/request', null, { json: { email: orgA.owner.email, purpose: 'login' } });

    // Everything the database holds that is secret, in the forms it is stored in.
    for (const row of await db.query<{ password_hash: string | null; totp_secret: string | null }[]>(
      'SELECT password_hash, totp_secret FROM users WHERE organization_id = $1',
      [orgA.id],
    )) {
      if (row.password_hash) secrets.set(`password hash ${row.password_hash.slice(0, 12)}`, row.password_hash);
      if (row.totp_secret) secrets.set('sealed TOTP secret', row.totp_secret);
    }
    for (const [table, column] of [
      ['refresh_tokens', 'token_hash'],
      ['recovery_codes', 'code_hash'],
      ['email_otps', 'code_hash'],
    ] as const) {
      for (const row of await db.query<Record<string, string>[]>(`SELECT ${column} FROM ${table}`)) {
        secrets.set(`${table}.${column} ${row[column].slice(0, 8)}`, row[column]);
      }
    }

    // Organization B's data, which A must never see.
    const bCustomer = await orgB.customer(null, { name: `B-only customer ${randomBytes(4).toString('hex')}` });
    foreign.set('B organization id', orgB.id);
    foreign.set('B owner id', orgB.owner.userId);
    foreign.set('B owner email', orgB.owner.email);
    foreign.set('B customer id', bCustomer);
    foreign.set('B post id', (await orgB.post(null, 'published')).id);
    foreign.set('B department id', await orgB.department());
    foreign.set('B role id', await orgB.role(['posts:read']));
  });

  afterAll(async () => {
    await app.close();
  });

  function totpNow(secret: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
    let bits = '';
    for (const char of secret.replace(/=+$/, '').toUpperCase())
      bits += alphabet.indexOf(char).toString(2).padStart(5, '0');
    const key = Buffer.from(bits.match(/.{8}/g)?.map((byte) => parseInt(byte, 2)) ?? []);
    const counter = Buffer.alloc(8);
    counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 30_000)));
    const hmac = createHmac('sha1', key).update(counter).digest();
    const offset = hmac[hmac.length - 1] & 0x0f;
    return String((hmac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000).padStart(6, '0');
  }

  it('should walk every GET route the owner can call, plus the auth responses', async () => {
    const publishedSlug = (await orgA.post(department, 'published')).slug;
    const routes = apiRoutes(app).filter((route) => route.method === 'GET');
    expect(routes.length).toBeGreaterThan(30);
    for (const route of routes) {
      const fixture = ROUTE_FIXTURES[route.key];
      if (fixture?.kind === 'capability') continue; // file bytes, behind a signed link
      const params = fixture?.kind === 'object' ? (await fixture.build(orgA, department)).params : {};
      const query = PERMISSION_ROUTE_REQUESTS[route.key]?.(orgA).query;
      const url = urlOf(route, { orgSlug: orgA.slug, slug: publishedSlug, ...params }, query);
      const res = await send(app, 'GET', url, orgA.owner.accessToken);
      expect({ url, status: res.statusCode < 500 }).toEqual({ url, status: true });
      record(`GET ${url}`, res);
      if (route.params.length === 0 && res.statusCode === 200 && /json/.test(String(res.headers['content-type']))) {
        // Lists: the largest page, so every row is looked at.
        const separator = url.includes('?') ? '&' : '?';
        const page = await send(app, 'GET', `${url}${separator}limit=100`, orgA.owner.accessToken);
        if (page.statusCode === 200) record(`GET ${url} (limit=100)`, page);
      }
    }
    for (const url of ['/docs-json', '/metrics', '/health/ready', '/api/v1/audit-logs/export?format=ndjson']) {
      record(`GET ${url}`, await send(app, 'GET', url, orgA.owner.accessToken));
    }
    const login = await send(app, 'POST', '/api/v1/auth/login', null, {
      json: { email: orgA.owner.email, password: TEST_PASSWORD },
    });
    record('POST /auth/login', login);
    expect(Object.keys(login.json<Json>()).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType']);
    const refresh = await send(app, 'POST', '/api/v1/auth/refresh', null, {
      json: { refreshToken: login.json<{ refreshToken: string }>().refreshToken },
    });
    record('POST /auth/refresh', refresh);
    const mfa = await send(app, 'POST', '/api/v1/auth/login', null, { json: member });
    record('POST /auth/login (2FA member, password step)', mfa);
    expect(Object.keys(mfa.json<Json>()).sort()).toEqual(['mfaRequired', 'mfaToken']);
    record(
      'POST /auth/login (wrong password)',
      await send(app, 'POST', '/api/v1/auth/login', null, {
        json: { email: orgA.owner.email, password: 'not-the-password-at-all' },
      }),
    );
    expect(bodies.length).toBeGreaterThan(40);
  });

  it('should carry no password hash, TOTP secret, recovery code, token or code hash, or server secret', () => {
    const leaks: string[] = [];
    for (const { request, body } of bodies) {
      if (/\$2[aby]\$\d\d\$/.test(body)) leaks.push(`${request}: a bcrypt hash`);
      for (const [what, value] of secrets) if (value && body.includes(value)) leaks.push(`${request}: ${what}`);
      if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(body)) leaks.push(`${request}: a private key`);
      // The OpenAPI document names request properties such as `password`: values only, not keys.
      if (request.startsWith('GET /docs-json')) continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        continue;
      }
      for (const key of keysOf(parsed)) if (FORBIDDEN_KEYS.test(key)) leaks.push(`${request}: key "${key}"`);
    }
    expect(leaks).toEqual([]);
    expect(secrets.size).toBeGreaterThan(20);
  });

  it('should carry nothing of another organization', () => {
    const leaks: string[] = [];
    for (const { request, body } of bodies) {
      if (request.startsWith('GET /docs-json') || request.startsWith('GET /metrics')) continue;
      for (const [what, value] of foreign) if (body.includes(value)) leaks.push(`${request}: ${what}`);
    }
    expect(leaks).toEqual([]);
  });

  it('should serve only public key material at the JWKS endpoint', async () => {
    const { keys } = expectJson<{ keys: Json[] }>(await send(app, 'GET', '/.well-known/jwks.json', null), 200, 'jwks');
    for (const key of keys)
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(key).not.toHaveProperty(member);
  });

  describe('the response schemas of the OpenAPI document', () => {
    function responseProperties(): Record<string, string[]> {
      const out: Record<string, string[]> = {};
      for (const op of operationsOf(document)) {
        for (const [status, response] of Object.entries(op.operation.responses)) {
          if (!status.startsWith('2')) continue;
          for (const [type, media] of Object.entries(response.content ?? {})) {
            const properties = [...new Set(propertyPaths(document, resolve(document, media.schema)))].sort();
            out[`${op.key} ${status} ${type}`] = properties;
          }
        }
      }
      return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b)));
    }

    it('should match the committed snapshot: a new response field is a reviewed change (update with -u)', () => {
      expect(responseProperties()).toMatchSnapshot();
    });

    it('should name nothing secret-sounding except the documented exceptions', () => {
      const found: string[] = [];
      for (const [operation, properties] of Object.entries(responseProperties())) {
        const [method, path, status] = operation.split(' ');
        for (const property of properties) {
          const leaf = property.split('.').pop() ?? property;
          if (SECRET_SOUNDING.test(leaf)) found.push(`${method} ${path} ${status} ${property}`);
        }
      }
      const undocumented = found.filter((entry) => !(entry in DOCUMENTED_SECRET_PROPERTIES));
      expect(undocumented).toEqual([]);
      // And no exception outlives its property.
      expect(Object.keys(DOCUMENTED_SECRET_PROPERTIES).filter((entry) => !found.includes(entry))).toEqual([]);
    });
  });
});
