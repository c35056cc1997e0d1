import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { BcryptProcess } from '../../src/core/security/bcrypt-process';
import { PasswordHasher } from '../../src/core/security/password-hasher';
import { AuthEvent } from '../../src/modules/auth/auth.events';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { expectProblem } from '../helpers/problem';
import { createTestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';

const until = (condition: () => boolean, what: string) =>
  waitFor(() => Promise.resolve(condition() ? true : undefined), { what });

/**
 * Holds the bcrypt comparisons `hold` picks (by call number) until release(): the test acts while a login is
 * in the middle of its password check. The comparison itself is the real one, in the bcrypt process.
 */
function holdPasswordChecks(hold: (call: number) => boolean = () => true) {
  const original = BcryptProcess.prototype.compare;
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const state = { calls: 0, held: 0 };
  const spy = jest.spyOn(BcryptProcess.prototype, 'compare').mockImplementation(async function (
    this: BcryptProcess,
    data: string,
    encrypted: string,
  ) {
    if (hold(state.calls++)) {
      state.held++;
      await released;
    }
    return original.call(this, data, encrypted);
  });
  return { state, release, restore: () => spy.mockRestore() };
}

describe('Login under concurrency', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let held: ReturnType<typeof holdPasswordChecks> | undefined;

  beforeAll(async () => {
    app = await createTestApp({ LOCKOUT_THRESHOLD: '3', LOCKOUT_BASE_SECONDS: '60', BCRYPT_CONCURRENCY: '3' });
    db = app.get(DataSource);
  });

  afterEach(() => {
    held?.release();
    held?.restore();
    held = undefined;
  });

  afterAll(async () => {
    await app.close();
  });

  const loginTo = (target: NestFastifyApplication, email: string, password: string) =>
    target.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email, password } });
  const login = (email: string, password: string) => loginTo(app, email, password);
  const sessionsOf = async (account: TestAccount): Promise<number> => {
    const [row] = await db.query('SELECT count(*)::int AS n FROM sessions WHERE user_id = $1', [account.userId]);
    return (row as { n: number }).n;
  };

  it('should hold no database connection or row lock while the password is checked', async () => {
    const owner = await registerOwner(app, 'no-lock');
    held = holdPasswordChecks();
    const pending = login(owner.email, owner.password);
    await until(() => held?.state.held === 1, 'a password check in progress');

    // Only this app's pooled connections: other test files share the database and may be mid-transaction.
    const pool = (db.driver as unknown as { master: { _clients: { processID: number }[] } }).master;
    const pids = pool._clients.map((client) => client.processID);
    expect(pids.length).toBeGreaterThan(0);
    const [{ n }] = await db.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY($1) AND state LIKE 'idle in transaction%'",
      [pids],
    );
    expect(n).toBe(0);
    // Would fail at once (55P03 lock_not_available) if the login held the row.
    await db.transaction(async (m) => {
      await m.query('SELECT id FROM users WHERE id = $1 FOR UPDATE NOWAIT', [owner.userId]);
    });

    held.release();
    expect((await pending).statusCode).toBe(200);
  });

  it('should hold no row lock while a step-up checks the password, and still count a wrong one', async () => {
    const owner = await registerOwner(app, 'step-up');
    const stepUp = (password: string) =>
      app.inject({
        method: 'POST',
        url: '/api/v1/auth/step-up',
        headers: bearer(owner.accessToken),
        payload: { password },
      });
    held = holdPasswordChecks();
    const pending = stepUp('wrong-password-1xx');
    await until(() => held?.state.held === 1, 'a password check in progress');
    await db.transaction(async (m) => {
      await m.query('SELECT id FROM users WHERE id = $1 FOR UPDATE NOWAIT', [owner.userId]);
    });
    held.release();
    expectProblem(await pending, 403, 'invalid-current-password');
    const [row] = await db.query('SELECT failed_login_count FROM users WHERE id = $1', [owner.userId]);
    expect(row).toEqual({ failed_login_count: 1 });
    expect((await stepUp(owner.password)).statusCode).toBe(204);
  });

  it('should answer other requests when more logins check passwords than the pool has connections', async () => {
    const small = await createTestApp({ DB_POOL_SIZE: '2', DB_CONNECT_TIMEOUT_MS: '1000', BCRYPT_CONCURRENCY: '3' });
    try {
      // One after the other, each its own organization name: concurrent registrations race on the slug.
      const accounts: TestAccount[] = [];
      for (let i = 1; i <= 5; i++) accounts.push(await registerOwner(small, `pool-${i}`));
      const bystander = accounts.pop() as TestAccount;
      held = holdPasswordChecks();
      const logins = accounts.map((a) => loginTo(small, a.email, a.password));
      // Three checks in flight (BCRYPT_CONCURRENCY), one waiting for a bcrypt slot: none holds a connection.
      await until(() => held?.state.held === 3, 'three password checks in progress');
      const me = await small.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(bystander.accessToken) });
      expect(me.statusCode).toBe(200);
      held.release();
      expect((await Promise.all(logins)).map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
    } finally {
      await small.close();
    }
  });

  it('should count every one of concurrent wrong passwords, lock once, and refuse the rest as locked', async () => {
    const owner = await registerOwner(app, 'concurrent-failures');
    const lockouts: unknown[] = [];
    const onLockout = (payload: unknown) => lockouts.push(payload);
    app.get(EventEmitter2).on(AuthEvent.Lockout, onLockout);
    try {
      const results = await Promise.all([1, 2, 3, 4, 5].map((i) => login(owner.email, `wrong-password-${i}xx`)));
      expect(results.map((r) => r.statusCode).sort()).toEqual([401, 401, 423, 423, 423]);
      const [row] = await db.query('SELECT failed_login_count, lockout_count FROM users WHERE id = $1', [owner.userId]);
      expect(row).toEqual({ failed_login_count: 0, lockout_count: 1 });
      expect(lockouts).toHaveLength(1);
    } finally {
      app.get(EventEmitter2).off(AuthEvent.Lockout, onLockout);
    }
  });

  it('should refuse the right password when failures locked the account while it was checked', async () => {
    const owner = await registerOwner(app, 'locked-meanwhile');
    held = holdPasswordChecks((call) => call === 0);
    const pending = login(owner.email, owner.password);
    await until(() => held?.state.held === 1, 'a password check in progress');
    for (let i = 0; i < 2; i++)
      expectProblem(await login(owner.email, `wrong-password-${i}xx`), 401, 'invalid-credentials');
    expectProblem(await login(owner.email, 'wrong-password-3xx'), 423, 'account-locked');

    held.release();
    expectProblem(await pending, 423, 'account-locked');
    expect(await sessionsOf(owner)).toBe(1); // the one registration started
  });

  it('should not start a session with a password that was changed while it was checked', async () => {
    const owner = await registerOwner(app, 'changed-meanwhile');
    held = holdPasswordChecks((call) => call === 0);
    const pending = login(owner.email, owner.password);
    await until(() => held?.state.held === 1, 'a password check in progress');
    const newHash = await app.get(PasswordHasher).hash('a-brand-new-Passphrase-7');
    await db.query('UPDATE users SET password_hash = $2 WHERE id = $1', [owner.userId, newHash]);

    held.release();
    expectProblem(await pending, 401, 'invalid-credentials');
    expect(await sessionsOf(owner)).toBe(1);
    expect((await login(owner.email, 'a-brand-new-Passphrase-7')).statusCode).toBe(200);
  });

  it('should answer 503 with Retry-After, without counting a failure, when too many checks wait for bcrypt', async () => {
    const busy = await createTestApp({ BCRYPT_CONCURRENCY: '1', BCRYPT_QUEUE_MAX: '1' });
    try {
      const first = await registerOwner(busy, 'busy-1');
      const second = await registerOwner(busy, 'busy-2');
      const third = await registerOwner(busy, 'busy-3');
      held = holdPasswordChecks();
      const hasher = busy.get(PasswordHasher);
      const admitted = [loginTo(busy, first.email, first.password), loginTo(busy, second.email, second.password)];
      await until(() => hasher.load.running === 1 && hasher.load.waiting === 1, 'one check running, one waiting');

      const refused = await loginTo(busy, third.email, 'wrong-password-1xx');
      expectProblem(refused, 503, 'password-check-busy');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      const [row] = await db.query('SELECT failed_login_count FROM users WHERE id = $1', [third.userId]);
      expect(row).toEqual({ failed_login_count: 0 });

      held.release();
      expect((await Promise.all(admitted)).map((r) => r.statusCode)).toEqual([200, 200]);
    } finally {
      await busy.close();
    }
  });

  it('should start the bcrypt process with the app and end it when it closes', async () => {
    const other = await createTestApp({ BCRYPT_CONCURRENCY: '2', BCRYPT_NICENESS: '5' });
    let pid: number;
    try {
      const info = other.get(PasswordHasher).processInfo;
      pid = info?.pid as number;
      expect(existsSync(`/proc/${pid}`)).toBe(true);
      expect(new Set(info?.threads.map((thread) => thread.niceness))).toEqual(new Set([5]));
      if (existsSync('/proc/self/autogroup')) expect(info?.autogroup).toMatch(/ nice 5$/);
    } finally {
      await other.close();
    }
    // Reaped, not a zombie: close() waited for it.
    expect(existsSync(`/proc/${pid}`)).toBe(false);
  });
});
