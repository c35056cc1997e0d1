import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app.config';
import { currentContext } from '../../core/context/request-context';
import { isUniqueViolation } from '../../core/database/unique-violation';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { PasswordHasher } from '../../core/security/password-hasher';
import { PasswordPolicy } from '../../core/security/password-policy';
import { OrganizationsService } from '../organizations/organizations.service';
import { RbacProvisioner } from '../rbac/roles/rbac-provisioner';
import type { UserWithSecrets } from '../users/users.service';
import { UsersService } from '../users/users.service';
import type { RegisterDto } from './auth.dto';
import { AuthEvent, type AuthEventName, type AuthEventPayload } from './auth.events';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { AFTER_SUCCESS, afterFailure, isLocked } from './lockout.policy';
import { MfaChallengeStore } from './mfa-challenge.store';
import { SessionService, type ClientInfo, type TokenPair } from './sessions/session.service';
import { TwoFactorService } from './two-factor.service';

export type LoginResult = (TokenPair & { mfaSetupRequired?: true }) | { mfaRequired: true; mfaToken: string };

type Failure = { failed: AuthException };

/** The row changed while its password was checked outside the transaction: check again. */
const CHANGED = Symbol('changed');
/** Password checks of one request before a row that keeps changing counts as a failure. */
const MAX_PASSWORD_CHECKS = 3;

@Injectable()
export class AuthService {
  private readonly logger = new Logger(AuthService.name);

  constructor(
    private readonly users: UsersService,
    private readonly organizations: OrganizationsService,
    private readonly sessions: SessionService,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly twoFactor: TwoFactorService,
    private readonly challenges: MfaChallengeStore,
    private readonly rbac: RbacProvisioner,
    private readonly tx: TransactionRunner,
    private readonly events: EventEmitter2,
    private readonly config: AppConfig,
  ) {}

  /** Creates an organization and its owner, and logs the owner in. */
  async register(input: RegisterDto, client: ClientInfo): Promise<TokenPair> {
    if (!this.config.auth.registrationEnabled) {
      throw new AuthException(AuthExceptionCode.RegistrationDisabled, 'Self-service registration is disabled.');
    }
    this.policy.check(input.password, { email: input.email, name: input.name });
    const passwordHash = await this.hasher.hash(input.password);
    const emailTaken = () =>
      new AuthException(AuthExceptionCode.EmailTaken, 'An account with this email already exists.');
    const { pair, userId, organizationId } = await this.tx
      .run(async (m) => {
        if (await this.users.existsByEmail(input.email, m)) throw emailTaken();
        const organization = await this.organizations.create(input.organizationName, m);
        const user = await this.users.create(
          { organizationId: organization.id, email: input.email, name: input.name, status: 'active', passwordHash },
          m,
        );
        await this.organizations.update(organization.id, { ownerId: user.id }, m);
        await this.rbac.provisionOrganization(organization.id, user.id, m);
        const { pair } = await this.sessions.start(
          { userId: user.id, organizationId: organization.id, client, mfaSetupRequired: false },
          m,
        );
        return { pair, userId: user.id, organizationId: organization.id };
      })
      .catch((error: unknown) => {
        // Two registrations of one address at once: the unique index decides, the loser gets the same 409.
        throw isUniqueViolation(error, 'users_email_key') ? emailTaken() : error;
      });
    await this.emit(AuthEvent.Registered, { organizationId, userId }, client);
    return pair;
  }

  /**
   * Email + password. Unknown email and wrong password answer alike and cost alike (a dummy bcrypt
   * compare); failures count towards a lockout; a locked account is refused without checking the password.
   *
   * bcrypt runs with no database connection or row lock held: a check takes a thread for a fifth of a second
   * and may wait for one, and a login flood holding pooled connections meanwhile starves every other route.
   * So the user is read without a lock, the password checked, and only then the row locked and read again;
   * every decision is taken on that fresh row (lockout, counters, status), in one transaction with its writes.
   */
  async login(email: string, password: string, client: ClientInfo): Promise<LoginResult> {
    for (let attempt = 1; ; attempt++) {
      const seen = await this.users.findWithSecrets({ email });
      if (!seen?.passwordHash) {
        await this.hasher.verifyDummy(password);
        await this.emit(
          AuthEvent.LoginFailed,
          { organizationId: null, userId: null, email, reason: 'unknown-email' },
          client,
        );
        throw invalidCredentials();
      }
      if (isLocked(seen, new Date())) {
        await this.hasher.verifyDummy(password);
        await this.emit(
          AuthEvent.LoginFailed,
          { organizationId: seen.organizationId, userId: seen.id, reason: 'locked' },
          client,
        );
        throw locked(seen.lockedUntil);
      }
      const matches = await this.hasher.verify(password, seen.passwordHash);
      const outcome = await this.tx.run(async (m): Promise<LoginResult | Failure | typeof CHANGED> => {
        const user = await this.users.findWithSecrets({ email }, m, true);
        const changed = user?.id !== seen.id || user.passwordHash !== seen.passwordHash;
        // The email moved to another account, or the password changed (which revokes sessions: a check against
        // the old hash must not start one). Check again, outside the lock; in the unlikely case that it keeps
        // changing, the check counts as failed.
        if (changed && attempt < MAX_PASSWORD_CHECKS) return CHANGED;
        if (!user) return { failed: invalidCredentials() };
        return this.afterPasswordCheck(user, matches && !changed, client, m);
      });
      if (outcome === CHANGED) continue;
      if ('failed' in outcome) throw outcome.failed;
      return outcome;
    }
  }

  /** The rest of a password login, on the user's row locked after the password was checked. */
  private async afterPasswordCheck(
    user: UserWithSecrets,
    matches: boolean,
    client: ClientInfo,
    m: EntityManager,
  ): Promise<LoginResult | Failure> {
    // Locked by concurrent failures while this password was checked: refused like any login to a locked account,
    // whether it matched or not, and not counted.
    if (isLocked(user, new Date())) {
      await this.emit(
        AuthEvent.LoginFailed,
        { organizationId: user.organizationId, userId: user.id, reason: 'locked' },
        client,
      );
      return { failed: locked(user.lockedUntil) };
    }
    if (!matches) return { failed: await this.recordFailure(user, 'wrong-password', client, m) };
    if (user.status === 'disabled')
      return { failed: new AuthException(AuthExceptionCode.AccountDisabled, 'This account is disabled.') };
    if (this.config.auth.requireVerifiedEmail && !user.emailVerifiedAt) {
      return {
        failed: new AuthException(
          AuthExceptionCode.EmailNotVerified,
          'Verify your email address first (POST /api/v1/auth/otp/request with purpose verify_email).',
        ),
      };
    }
    if (user.totpEnabledAt) return { mfaRequired: true, mfaToken: await this.challenges.create(user.id) };
    return this.completeLogin(user, client, m);
  }

  /** Second step of a 2FA login: the mfaToken plus a TOTP or recovery code. */
  async loginWithTwoFactor(mfaToken: string, code: string, client: ClientInfo): Promise<TokenPair> {
    const userId = await this.challenges.peek(mfaToken);
    const outcome = await this.tx.run(async (m): Promise<TokenPair | Failure> => {
      const user = await this.users.findWithSecrets({ id: userId }, m, true);
      if (!user)
        return {
          failed: new AuthException(
            AuthExceptionCode.InvalidMfaToken,
            'The mfaToken is invalid or expired; log in again.',
          ),
        };
      if (isLocked(user, new Date())) return { failed: locked(user.lockedUntil) };
      if (user.status === 'disabled')
        return { failed: new AuthException(AuthExceptionCode.AccountDisabled, 'This account is disabled.') };
      const method = await this.twoFactor.verifyLoginCode(user, code, m);
      if (!method) return { failed: await this.recordFailure(user, 'wrong-two-factor-code', client, m) };
      // Consumed inside the transaction: a second request racing with the same token loses here.
      if (!(await this.challenges.consume(mfaToken))) {
        return {
          failed: new AuthException(
            AuthExceptionCode.InvalidMfaToken,
            'The mfaToken is invalid or expired; log in again.',
          ),
        };
      }
      if (method === 'recovery-code') {
        await this.emit(AuthEvent.RecoveryCodeUsed, { organizationId: user.organizationId, userId: user.id }, client);
      }
      const result = await this.completeLogin(user, client, m);
      return result as TokenPair;
    });
    if ('failed' in outcome) throw outcome.failed;
    return outcome;
  }

  /** Re-proves a credential in the current session, for sensitive actions (step-up). */
  async stepUp(
    userId: string,
    sessionId: string,
    proof: { password?: string; code?: string },
    client: ClientInfo,
  ): Promise<void> {
    await this.proveCredential(userId, proof, client);
    await this.sessions.recordStepUp(sessionId);
  }

  /**
   * Checks the password or a TOTP code of a signed-in user. A wrong one counts towards the lockout, like a
   * failed login: no authenticated route may become an unlimited password oracle.
   */
  async proveCredential(
    userId: string,
    proof: { password?: string; code?: string },
    client: ClientInfo,
  ): Promise<void> {
    if (proof.password) return this.provePassword(userId, proof.password, client);
    const outcome = await this.tx.run(async (m): Promise<Failure | { ok: true }> => {
      const user = await this.users.findWithSecrets({ id: userId }, m, true);
      if (!user) return { failed: invalidCredentials() };
      if (isLocked(user, new Date())) return { failed: locked(user.lockedUntil) };
      const ok = proof.code ? (await this.twoFactor.verifyTotpOnly(user, proof.code, m)) !== null : false;
      if (!ok) return { failed: await this.recordFailure(user, 'step-up-failed', client, m) };
      await this.users.update(user.id, AFTER_SUCCESS, m);
      return { ok: true };
    });
    if ('failed' in outcome) throw outcome.failed;
  }

  /** proveCredential with the password: like login, bcrypt runs before the row is locked (see login). */
  private async provePassword(userId: string, password: string, client: ClientInfo): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const checked = await this.checkPasswordUnlocked(userId, password);
      const outcome = await this.tx.run(async (m): Promise<Failure | { ok: true } | typeof CHANGED> => {
        const user = await this.users.findWithSecrets({ id: userId }, m, true);
        if (!user) return { failed: invalidCredentials() };
        const changed = user.passwordHash !== checked.passwordHash;
        if (changed && attempt < MAX_PASSWORD_CHECKS) return CHANGED;
        if (isLocked(user, new Date())) return { failed: locked(user.lockedUntil) };
        if (!checked.matches || changed) return { failed: await this.recordFailure(user, 'step-up-failed', client, m) };
        await this.users.update(user.id, AFTER_SUCCESS, m);
        return { ok: true };
      });
      if (outcome === CHANGED) continue;
      if ('failed' in outcome) throw outcome.failed;
      return;
    }
  }

  /**
   * Checks a signed-in user's password against their current hash with no connection or row lock held (see
   * login); the caller then locks the row and treats a hash changed meanwhile as CHANGED. A locked account
   * is refused before bcrypt runs.
   */
  private async checkPasswordUnlocked(
    userId: string,
    password: string,
  ): Promise<{ passwordHash: string | null; matches: boolean }> {
    const seen = await this.users.findWithSecrets({ id: userId });
    if (!seen) throw invalidCredentials();
    if (isLocked(seen, new Date())) throw locked(seen.lockedUntil);
    const passwordHash = seen.passwordHash ?? null;
    return { passwordHash, matches: passwordHash !== null && (await this.hasher.verify(password, passwordHash)) };
  }

  /**
   * Turns 2FA off after a current code or the password (the caller has checked the step-up). A wrong one
   * counts towards the lockout like any failed proof: this must not become an unlimited password oracle.
   * With the password, bcrypt runs before the row is locked (see login).
   */
  async disableTwoFactor(
    userId: string,
    proof: { code?: string; password?: string },
    client: ClientInfo,
  ): Promise<void> {
    const { code, password } = proof;
    if (!code && !password) {
      throw new AuthException(AuthExceptionCode.InvalidTwoFactorCode, 'Give a current code or your password.');
    }
    for (let attempt = 1; ; attempt++) {
      const checked = code ? null : await this.checkPasswordUnlocked(userId, password!);
      const outcome = await this.tx.run(async (m): Promise<Failure | { ok: true } | typeof CHANGED> => {
        const user = await this.users.findWithSecrets({ id: userId }, m, true);
        if (!user)
          return { failed: new AuthException(AuthExceptionCode.InvalidToken, 'The account no longer exists.') };
        const changed = checked !== null && user.passwordHash !== checked.passwordHash;
        if (changed && attempt < MAX_PASSWORD_CHECKS) return CHANGED;
        if (isLocked(user, new Date())) return { failed: locked(user.lockedUntil) };
        if ((await this.organizations.get(user.organizationId, m)).requireTwoFactor) {
          const message = 'Your organization requires two-factor authentication: it cannot be turned off.';
          return { failed: new AuthException(AuthExceptionCode.TwoFactorRequiredByOrganization, message) };
        }
        const verdict = code ? { code } : { passwordMatches: checked!.matches && !changed };
        if (await this.twoFactor.disable(user, verdict, m)) return { ok: true };
        const reason = code ? 'wrong-two-factor-code' : 'step-up-failed';
        return { failed: await this.recordFailure(user, reason, client, m) };
      });
      if (outcome === CHANGED) continue;
      if ('failed' in outcome) throw outcome.failed;
      return;
    }
  }

  /** Starts a session for a user whose credentials were just proven (resets failure counters). */
  async startSession(user: UserWithSecrets, client: ClientInfo, m: EntityManager): Promise<LoginResult> {
    return this.completeLogin(user, client, m);
  }

  private async completeLogin(user: UserWithSecrets, client: ClientInfo, m: EntityManager): Promise<LoginResult> {
    if (user.failedLoginCount || user.lockoutCount || user.lockedUntil)
      await this.users.update(user.id, AFTER_SUCCESS, m);
    const organization = await this.organizations.get(user.organizationId, m);
    const mfaSetupRequired = organization.requireTwoFactor && !user.totpEnabledAt;
    const { session, pair } = await this.sessions.start(
      { userId: user.id, organizationId: user.organizationId, client, mfaSetupRequired },
      m,
    );
    await this.emit(
      AuthEvent.LoginSucceeded,
      { organizationId: user.organizationId, userId: user.id, sessionId: session.id },
      client,
    );
    return mfaSetupRequired ? { ...pair, mfaSetupRequired: true } : pair;
  }

  /** Counts a failed password/2FA proof (committed even though the request fails) and may lock the account. */
  private async recordFailure(
    user: UserWithSecrets,
    reason: string,
    client: ClientInfo,
    m: EntityManager,
  ): Promise<AuthException> {
    const {
      lockoutThreshold: threshold,
      lockoutBaseSeconds: baseSeconds,
      lockoutMaxSeconds: maxSeconds,
    } = this.config.auth;
    const next = afterFailure(user, { threshold, baseSeconds, maxSeconds }, new Date());
    await this.users.update(
      user.id,
      { failedLoginCount: next.failedLoginCount, lockoutCount: next.lockoutCount, lockedUntil: next.lockedUntil },
      m,
    );
    const who = { organizationId: user.organizationId, userId: user.id, reason };
    await this.emit(
      reason === 'wrong-two-factor-code' ? AuthEvent.TwoFactorFailed : AuthEvent.LoginFailed,
      who,
      client,
    );
    if (next.locked) {
      await this.emit(AuthEvent.Lockout, { ...who, details: { lockedUntil: next.lockedUntil?.toISOString() } }, client);
      return locked(next.lockedUntil);
    }
    return reason === 'wrong-two-factor-code'
      ? new AuthException(AuthExceptionCode.InvalidTwoFactorCode, 'The code is not valid.')
      : reason === 'step-up-failed'
        ? new AuthException(AuthExceptionCode.InvalidCurrentPassword, 'The password or code is not valid.')
        : invalidCredentials();
  }

  /**
   * Emits with `emitAsync` and waits for the listeners (the audit log): the entry is written before the
   * response goes out, and inside the caller's transaction when there is one, so it commits with the change.
   * Listeners must not fail the request: their errors are logged here.
   */
  async emit(event: AuthEventName, payload: AuthEventPayload, client?: ClientInfo): Promise<void> {
    try {
      await this.events.emitAsync(event, {
        ip: client?.ip ?? undefined,
        userAgent: client?.userAgent ?? undefined,
        requestId: currentContext()?.requestId,
        ...payload,
      } satisfies AuthEventPayload);
    } catch (error) {
      this.logger.error({ err: error, event }, 'auth event listener failed');
    }
  }
}

function invalidCredentials(): AuthException {
  return new AuthException(AuthExceptionCode.InvalidCredentials, 'The email or password is wrong.');
}

function locked(until: Date | null): AuthException {
  return new AuthException(
    AuthExceptionCode.AccountLocked,
    'Too many failed attempts: the account is locked for a while.',
    {
      lockedUntil: until?.toISOString(),
    },
  );
}
