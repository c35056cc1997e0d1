import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type EntityManager, type Repository } from 'typeorm';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { PasswordHasher } from '../../core/security/password-hasher';
import { normalizeRecoveryCode, recoveryCode, sha256 } from '../../core/security/random-code';
import { SecretBox } from '../../core/security/secret-box';
import { TotpService } from '../../core/security/totp';
import { UsersService, type UserWithSecrets } from '../users/users.service';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { RecoveryCode } from './recovery-code.entity';

export const RECOVERY_CODE_COUNT = 10;

export interface TwoFactorSetup {
  secret: string;
  otpauthUrl: string;
  qrCode: string;
}

/** TOTP 2FA: setup, enabling with recovery codes, disabling, and checking codes at login and step-up. */
@Injectable()
export class TwoFactorService {
  constructor(
    @InjectRepository(RecoveryCode) private readonly recoveryCodes: Repository<RecoveryCode>,
    private readonly users: UsersService,
    private readonly totp: TotpService,
    private readonly secretBox: SecretBox,
    private readonly hasher: PasswordHasher,
    private readonly tx: TransactionRunner,
  ) {}

  /** Starts (or restarts) setup: a new secret, stored sealed, not active until confirmed with a code. */
  async setup(userId: string): Promise<TwoFactorSetup> {
    const user = await this.requireUser(userId);
    if (user.totpEnabledAt)
      throw new AuthException(AuthExceptionCode.TwoFactorAlreadyEnabled, '2FA is already enabled.');
    const secret = this.totp.generateSecret();
    await this.users.update(user.id, { totpSecret: this.secretBox.seal(secret, user.id), totpLastStep: null });
    const otpauthUrl = this.totp.keyUri(user.email, secret);
    return { secret, otpauthUrl, qrCode: await this.totp.qrCodeDataUrl(otpauthUrl) };
  }

  /** Confirms setup with a current code; returns the ten recovery codes (shown once, stored hashed). */
  async enable(userId: string, code: string): Promise<string[]> {
    return this.tx.run(async (m) => {
      const user = await this.requireUser(userId, m);
      if (user.totpEnabledAt)
        throw new AuthException(AuthExceptionCode.TwoFactorAlreadyEnabled, '2FA is already enabled.');
      if (!user.totpSecret) {
        throw new AuthException(AuthExceptionCode.TwoFactorSetupNotStarted, 'Start with POST /api/v1/auth/2fa/setup.');
      }
      const step = this.totp.verify(code, this.secretBox.open(user.totpSecret, user.id), null);
      if (step === null) throw new AuthException(AuthExceptionCode.InvalidTwoFactorCode, 'The code is not valid.');
      await this.users.update(user.id, { totpEnabledAt: new Date(), totpLastStep: step }, m);
      const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => recoveryCode());
      await m.delete(RecoveryCode, { userId: user.id });
      await m.insert(
        RecoveryCode,
        codes.map((c) => ({
          id: uuidv7(),
          userId: user.id,
          codeHash: sha256(normalizeRecoveryCode(c)),
          usedAt: null,
          createdAt: new Date(),
        })),
      );
      return codes;
    });
  }

  /**
   * Turns 2FA off if the proof holds — a current code, or the password as already checked by the caller (bcrypt
   * runs before the row is locked; see AuthService.disableTwoFactor); false if it does not, for the caller to
   * count towards the lockout. Run in the transaction that locked `user`.
   */
  async disable(
    user: UserWithSecrets,
    proof: { code: string } | { passwordMatches: boolean },
    m: EntityManager,
  ): Promise<boolean> {
    if (!user.totpEnabledAt) throw new AuthException(AuthExceptionCode.TwoFactorNotEnabled, '2FA is not enabled.');
    const proven = 'code' in proof ? (await this.verifyTotpOnly(user, proof.code, m)) !== null : proof.passwordMatches;
    if (!proven) return false;
    await this.users.update(user.id, { totpSecret: null, totpEnabledAt: null, totpLastStep: null }, m);
    await m.delete(RecoveryCode, { userId: user.id });
    return true;
  }

  /** A TOTP code (never one of an already accepted step) or an unused recovery code; null if neither. */
  async verifyLoginCode(
    user: UserWithSecrets,
    code: string,
    m: EntityManager,
  ): Promise<'totp' | 'recovery-code' | null> {
    if (/^\d{6}$/.test(code.trim())) return (await this.verifyTotpOnly(user, code.trim(), m)) !== null ? 'totp' : null;
    const used = await m
      .createQueryBuilder()
      .update(RecoveryCode)
      .set({ usedAt: new Date() })
      .where({ userId: user.id, codeHash: sha256(normalizeRecoveryCode(code)), usedAt: IsNull() })
      .returning('id')
      .execute();
    return (used.raw as unknown[]).length === 1 ? 'recovery-code' : null;
  }

  /** Accepts a TOTP code and records its step, so the same or an older code is never accepted again. */
  async verifyTotpOnly(user: UserWithSecrets, code: string, m: EntityManager): Promise<number | null> {
    if (!user.totpEnabledAt || !user.totpSecret) return null;
    const step = this.totp.verify(code, this.secretBox.open(user.totpSecret, user.id), user.totpLastStep);
    if (step === null) return null;
    await this.users.update(user.id, { totpLastStep: step }, m);
    user.totpLastStep = step;
    return step;
  }

  remainingRecoveryCodes(userId: string): Promise<number> {
    return this.recoveryCodes.countBy({ userId, usedAt: IsNull() });
  }

  private async requireUser(userId: string, m?: EntityManager): Promise<UserWithSecrets> {
    const user = await this.users.findWithSecrets({ id: userId }, m, Boolean(m));
    if (!user) throw new AuthException(AuthExceptionCode.InvalidToken, 'The account no longer exists.');
    return user;
  }
}
