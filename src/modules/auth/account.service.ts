import { Injectable } from '@nestjs/common';
import { PasswordHasher } from '../../core/security/password-hasher';
import { PasswordPolicy } from '../../core/security/password-policy';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { UsersService } from '../users/users.service';
import { AuthEvent } from './auth.events';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { AuthService, type LoginResult } from './auth.service';
import type { AuthUser } from './auth-user';
import { EmailOtpService } from './email-otp.service';
import { AFTER_SUCCESS } from './lockout.policy';
import { SessionService, type ClientInfo } from './sessions/session.service';
import { MfaChallengeStore } from './mfa-challenge.store';

/** Account changes proven by a password or an emailed code: password change/reset, email change, email login. */
@Injectable()
export class AccountService {
  constructor(
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly policy: PasswordPolicy,
    private readonly otps: EmailOtpService,
    private readonly sessions: SessionService,
    private readonly challenges: MfaChallengeStore,
    private readonly auth: AuthService,
    private readonly tx: TransactionRunner,
  ) {}

  /** Needs the current password; every other session of the user is revoked. */
  async changePassword(
    current: AuthUser,
    currentPassword: string,
    newPassword: string,
    client: ClientInfo,
  ): Promise<void> {
    await this.auth.proveCredential(current.id, { password: currentPassword }, client);
    const user = await this.users.findWithSecrets({ id: current.id });
    if (!user) throw new AuthException(AuthExceptionCode.InvalidToken, 'The account no longer exists.');
    this.policy.check(newPassword, { email: user.email, name: user.name });
    const passwordHash = await this.hasher.hash(newPassword);
    const revoked = await this.tx.run(async (m) => {
      await this.users.update(user.id, { passwordHash }, m);
      return this.sessions.revokeAllForUser(user.id, 'password-changed', current.sessionId, m);
    });
    const who = { organizationId: user.organizationId, userId: user.id };
    await this.auth.emit(
      AuthEvent.PasswordChanged,
      { ...who, sessionId: current.sessionId, details: { revokedSessions: revoked.length } },
      client,
    );
  }

  /** With an emailed reset_password code: new password, lockout cleared, every session revoked. */
  async resetPassword(email: string, code: string, newPassword: string, client: ClientInfo): Promise<void> {
    this.policy.check(newPassword, { email });
    const passwordHash = await this.hasher.hash(newPassword);
    const user = await this.otps.withCode(email, 'reset_password', code, async (m) => {
      const found = await this.users.findWithSecrets({ email }, m, true);
      // A code exists only for an existing account; it may have been deleted since.
      if (!found) throw new AuthException(AuthExceptionCode.InvalidCode, 'The code is wrong, expired or already used.');
      await this.users.update(
        found.id,
        {
          passwordHash,
          ...AFTER_SUCCESS,
          emailVerifiedAt: found.emailVerifiedAt ?? new Date(),
          // An invited user sets their first password this way: that activates the account.
          status: found.status === 'invited' ? 'active' : found.status,
        },
        m,
      );
      await this.sessions.revokeAllForUser(found.id, 'password-reset', undefined, m);
      return found;
    });
    const who = { organizationId: user.organizationId, userId: user.id };
    await this.auth.emit(AuthEvent.PasswordReset, who, client);
    if (user.lockedUntil && user.lockedUntil > new Date())
      await this.auth.emit(AuthEvent.Unlocked, { ...who, reason: 'password-reset' }, client);
  }

  async verifyEmail(email: string, code: string, client: ClientInfo): Promise<void> {
    const user = await this.otps.withCode(email, 'verify_email', code, async (m) => {
      const found = await this.users.findWithSecrets({ email }, m);
      if (!found) throw new AuthException(AuthExceptionCode.InvalidCode, 'The code is wrong, expired or already used.');
      await this.users.update(found.id, { emailVerifiedAt: new Date() }, m);
      return found;
    });
    await this.auth.emit(AuthEvent.EmailVerified, { organizationId: user.organizationId, userId: user.id }, client);
  }

  /** Passwordless login with an emailed code; 2FA, if on, is still required afterwards. */
  async loginWithCode(email: string, code: string, client: ClientInfo): Promise<LoginResult> {
    return this.otps.withCode(email, 'login', code, async (m) => {
      const user = await this.users.findWithSecrets({ email }, m, true);
      if (!user) throw new AuthException(AuthExceptionCode.InvalidCode, 'The code is wrong, expired or already used.');
      if (user.status === 'disabled')
        throw new AuthException(AuthExceptionCode.AccountDisabled, 'This account is disabled.');
      if (user.totpEnabledAt) return { mfaRequired: true as const, mfaToken: await this.challenges.create(user.id) };
      // The code proves control of the mailbox, which also verifies the address.
      if (!user.emailVerifiedAt) await this.users.update(user.id, { emailVerifiedAt: new Date() }, m);
      return this.auth.startSession(user, client, m);
    });
  }

  /** Sensitive: needs a recent step-up. The new address is unverified until its mailed code is confirmed. */
  async changeEmail(current: AuthUser, newEmail: string, client: ClientInfo): Promise<void> {
    await this.sessions.requireRecentStepUp(current.sessionId);
    const previous = await this.tx.run(async (m) => {
      const user = await this.users.findWithSecrets({ id: current.id }, m, true);
      if (!user) throw new AuthException(AuthExceptionCode.InvalidToken, 'The account no longer exists.');
      if (user.email !== newEmail && (await this.users.existsByEmail(newEmail, m))) {
        throw new AuthException(AuthExceptionCode.EmailTaken, 'An account with this email already exists.');
      }
      await this.users.update(user.id, { email: newEmail, emailVerifiedAt: null }, m);
      // Codes mailed to either address before the change (e.g. to the previous owner of the new one) die here.
      await this.otps.discard([user.email, newEmail], m);
      await this.otps.issue(newEmail, 'verify_email', m);
      return user.email;
    });
    await this.auth.emit(
      AuthEvent.EmailChanged,
      {
        organizationId: current.organizationId,
        userId: current.id,
        sessionId: current.sessionId,
        details: { previous, next: newEmail },
      },
      client,
    );
  }
}
