import { Injectable } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { EntityManager } from 'typeorm';
import { AppConfig } from '../../config/app.config';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { otpMail, type OtpPurpose as MailTemplate } from '../../core/mail/mail-message';
import { MailQueue } from '../../core/mail/mail.queue';
import { randomDigits, sha256 } from '../../core/security/random-code';
import { UsersService } from '../users/users.service';
import type { OtpPurpose } from './auth.dto';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { EmailOtp } from './email-otp.entity';

function invalidCode(): AuthException {
  return new AuthException(
    AuthExceptionCode.InvalidCode,
    'The code is wrong, expired or already used; request a new one.',
  );
}

/**
 * Six-digit codes sent by email (CSPRNG, stored hashed, expiring, at most OTP_MAX_ATTEMPTS guesses,
 * single use; a new request replaces the previous code). Requests never reveal whether an account exists.
 */
@Injectable()
export class EmailOtpService {
  constructor(
    private readonly users: UsersService,
    private readonly mail: MailQueue,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
  ) {}

  /** Sends a code when an account exists for the email (and the purpose makes sense for it); silent otherwise. */
  async request(email: string, purpose: OtpPurpose): Promise<void> {
    // Before the lookup: refusing only for existing accounts would tell which exist.
    await this.mail.assertAvailable();
    const user = await this.users.findWithSecrets({ email });
    if (!user || user.status === 'disabled') return;
    if (purpose === 'verify_email' && user.emailVerifiedAt) return;
    await this.issue(user.email, purpose);
  }

  /**
   * Creates (replacing any previous) code and mails it after commit. `template` words the mail differently
   * from the purpose (an invitation carries a reset_password code); by default it is the purpose's own.
   */
  async issue(
    email: string,
    purpose: OtpPurpose,
    manager?: EntityManager,
    template: MailTemplate = purpose,
  ): Promise<void> {
    // A code whose mail cannot be queued is useless: refuse (503) and roll back what it was issued for.
    await this.mail.assertAvailable();
    const code = randomDigits(6);
    const ttl = this.config.auth.otpTtlSeconds;
    const now = new Date();
    const work = async (m: EntityManager): Promise<void> => {
      await m
        .createQueryBuilder()
        .insert()
        .into(EmailOtp)
        .values({
          id: uuidv7(),
          email,
          purpose,
          codeHash: sha256(code),
          attempts: 0,
          expiresAt: new Date(now.getTime() + ttl * 1000),
          consumedAt: null,
          createdAt: now,
        })
        .orUpdate(['id', 'code_hash', 'attempts', 'expires_at', 'consumed_at', 'created_at'], ['email', 'purpose'])
        .execute();
      await this.tx.afterCommit(() =>
        this.mail.enqueue({
          to: email,
          ...otpMail(template, code, Math.floor(ttl / 60), this.config.mail.publicAppUrl),
        }),
      );
    };
    await (manager ? work(manager) : this.tx.run(work));
  }

  /**
   * Discards every live code of these addresses, whatever the purpose. Codes belong to an address, so when an
   * address changes hands (email change) a code mailed to it before must not work for its next owner.
   */
  async discard(emails: string[], m: EntityManager): Promise<void> {
    await m.createQueryBuilder().delete().from(EmailOtp).where('email IN (:...emails)', { emails }).execute();
  }

  /**
   * Consumes a code inside the caller's transaction. A wrong guess is counted even though the caller's
   * request fails, so it is recorded in a transaction of its own.
   */
  async consume(email: string, purpose: OtpPurpose, code: string, m: EntityManager): Promise<void> {
    const otp = await m
      .getRepository(EmailOtp)
      .createQueryBuilder('o')
      .setLock('pessimistic_write')
      .where('o.email = :email AND o.purpose = :purpose', { email, purpose })
      .getOne();
    const now = new Date();
    if (!otp || otp.consumedAt || otp.expiresAt <= now || otp.attempts >= this.config.auth.otpMaxAttempts)
      throw invalidCode();
    const expected = Buffer.from(otp.codeHash, 'hex');
    const given = Buffer.from(sha256(code.trim()), 'hex');
    if (!timingSafeEqual(expected, given)) {
      await m.update(EmailOtp, { id: otp.id }, { attempts: otp.attempts + 1 });
      throw new WrongCode();
    }
    await m.update(EmailOtp, { id: otp.id }, { consumedAt: now });
  }

  /** Runs `work` after consuming the code, all in one transaction; a wrong guess still counts. */
  async withCode<T>(
    email: string,
    purpose: OtpPurpose,
    code: string,
    work: (m: EntityManager) => Promise<T>,
  ): Promise<T> {
    const outcome = await this.tx.run(async (m): Promise<{ value: T } | { wrong: true }> => {
      try {
        await this.consume(email, purpose, code, m);
      } catch (error) {
        if (error instanceof WrongCode) return { wrong: true };
        throw error;
      }
      return { value: await work(m) };
    });
    if ('wrong' in outcome) throw invalidCode();
    return outcome.value;
  }
}

/** Internal: lets the attempt counter commit before the request fails. */
class WrongCode extends Error {}
