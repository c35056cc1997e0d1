import { Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import bcrypt from 'bcrypt';
import { createHmac, randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { BcryptProcess, type BcryptProcessInfo } from './bcrypt-process';
import { SecurityException } from './security.exception';
import { WorkGate, WorkGateFullError } from './work-gate';

/**
 * bcrypt with a pepper. bcrypt reads only the first 72 bytes of its input (as few as 18 characters of
 * 4-byte UTF-8), so the password is first reduced to HMAC-SHA-256(pepper, password) and bcrypt gets the
 * 44-character base64 of that digest: every byte of the password counts, and a stolen database alone is not
 * enough to test guesses because the pepper lives in configuration, not in the rows.
 *
 * bcrypt runs in a child process of its own at BCRYPT_NICENESS (its scheduler autogroup and every thread:
 * bcrypt-process.ts), never in the API's process, BCRYPT_CONCURRENCY operations at a time. Further ones wait
 * in line, and past BCRYPT_QUEUE_MAX waiting they fail fast with a 503 instead of making every login slower
 * without bound.
 */
@Injectable()
export class PasswordHasher implements OnModuleInit, OnApplicationShutdown {
  private dummyHash?: Promise<string>;
  private readonly gate: WorkGate;
  private readonly bcrypt: BcryptProcess;

  constructor(private readonly config: AppConfig) {
    this.gate = new WorkGate(config.auth.bcryptConcurrency, config.auth.bcryptQueueMax);
    // One pool thread in the child per slot of the gate: a check never waits for a thread once admitted.
    this.bcrypt = new BcryptProcess({ size: this.gate.concurrency, niceness: config.auth.bcryptNiceness });
  }

  async onModuleInit(): Promise<void> {
    // With the app, so a platform where the process cannot start fails at start-up rather than at a login.
    await this.bcrypt.start();
    // Pay for the dummy hash at start-up, so the first unknown-email login is not slower than the rest.
    await this.dummy();
  }

  /** After the HTTP server has closed, so logins still in flight finish first. */
  async onApplicationShutdown(): Promise<void> {
    await this.bcrypt.close();
  }

  /** The bcrypt process: its pid, autogroup and threads' niceness (for diagnostics and tests); none once closed. */
  get processInfo(): BcryptProcessInfo | undefined {
    return this.bcrypt.info;
  }

  /** bcrypt operations running and waiting for a slot right now. */
  get load(): { running: number; waiting: number } {
    return this.gate.stats;
  }

  /** Throws SecurityException (503) when the bcrypt waiting line is full, like verify and verifyDummy. */
  hash(password: string): Promise<string> {
    return this.gated(() => this.bcrypt.hash(this.prehash(password), this.config.auth.bcryptCost));
  }

  /** False for a wrong password and for a malformed hash; never throws for either. */
  verify(password: string, passwordHash: string): Promise<boolean> {
    return this.gated(() => this.bcrypt.compare(this.prehash(password), passwordHash));
  }

  /**
   * Burns the same time as `verify` when there is no user to check against (unknown email), so response
   * time does not reveal which emails have accounts. Always false.
   */
  async verifyDummy(password: string): Promise<false> {
    // Outside the slot: the dummy hash itself is made through the gate.
    const dummyHash = await this.dummy();
    await this.gated(() => this.bcrypt.compare(this.prehash(password), dummyHash));
    return false;
  }

  /** True when the hash was made with another cost than configured: rehash after the next successful login. */
  needsRehash(passwordHash: string): boolean {
    try {
      return bcrypt.getRounds(passwordHash) !== this.config.auth.bcryptCost;
    } catch {
      return true;
    }
  }

  private async gated<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await this.gate.run(work);
    } catch (error) {
      if (error instanceof WorkGateFullError) throw SecurityException.passwordCheckBusy(error.retryAfterSeconds);
      throw error;
    }
  }

  private prehash(password: string): string {
    // NFC so the same password typed on systems that compose accents differently (é vs e + ◌́) still matches.
    return createHmac('sha256', this.config.auth.passwordPepper)
      .update(password.normalize('NFC'), 'utf8')
      .digest('base64');
  }

  private dummy(): Promise<string> {
    // A random secret nobody knows, hashed at the configured cost, so comparing against it costs what a real
    // comparison costs and can never succeed.
    this.dummyHash ??= this.gated(() =>
      this.bcrypt.hash(randomBytes(32).toString('base64'), this.config.auth.bcryptCost),
    ).catch((error: unknown) => {
      // Not cached when refused (a full line): the next unknown-email login tries again.
      this.dummyHash = undefined;
      throw error;
    });
    return this.dummyHash;
  }
}
