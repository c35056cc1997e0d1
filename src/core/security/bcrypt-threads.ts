import { Logger } from '@nestjs/common';
import { join } from 'node:path';
import { type ThreadInfo, WorkerPool } from '../threads/worker-pool';

/** Plain JS beside this file, in src/ and in the build alike (tsconfig.build.json copies it with allowJs). */
const SCRIPT = join(__dirname, 'bcrypt-thread.js');

/**
 * bcrypt's sync API on worker threads of their own, each at the configured niceness, instead of its async
 * API on the libuv pool at normal priority: on a small machine a login flood then takes only the CPU that
 * request handling, PostgreSQL and the rest leave over, and still all of it when nothing else runs.
 */
export class BcryptThreads {
  private static readonly logger = new Logger('PasswordHasher');
  private readonly pool: WorkerPool;
  private warned = false;

  constructor(size: number, niceness: number) {
    this.pool = new WorkerPool({
      name: 'bcrypt',
      script: SCRIPT,
      size,
      workerData: { niceness },
      onReady: (info) => this.checkPriority(info, niceness),
    });
  }

  get threads(): ThreadInfo[] {
    return this.pool.threads;
  }

  start(): Promise<void> {
    return this.pool.start();
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  hash(data: string, cost: number): Promise<string> {
    return this.pool.run<string>({ op: 'hash', data, cost });
  }

  /** False for a mismatch and for a malformed hash, as bcrypt.compare. */
  compare(data: string, hash: string): Promise<boolean> {
    return this.pool.run<boolean>({ op: 'compare', data, hash });
  }

  private checkPriority(info: ThreadInfo, niceness: number): void {
    if (niceness === 0 || info.niceness === niceness || this.warned) return;
    // Once: every thread fails the same way on a platform without per-thread priorities.
    this.warned = true;
    BcryptThreads.logger.warn(
      `bcrypt threads run at normal priority (BCRYPT_NICENESS=${niceness} not applied: ${info.problem ?? 'unknown'}); a login flood may slow other requests`,
    );
  }
}
