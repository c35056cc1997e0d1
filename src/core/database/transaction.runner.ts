import { AsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { DataSource, QueryFailedError, type EntityManager } from 'typeorm';
import type { IsolationLevel } from 'typeorm/driver/types/IsolationLevel';

interface ActiveTransaction {
  manager: EntityManager;
  afterCommit: Array<() => unknown>;
  afterEnd: Array<() => unknown>;
}

export interface TransactionOptions {
  isolation?: IsolationLevel;
  /** Extra attempts after a serialization failure or deadlock (the whole unit of work runs again). */
  retries?: number;
}

/** Every connection's session default (see dataSourceOptions), so starting a transaction at it needs no SET. */
export const DEFAULT_ISOLATION: IsolationLevel = 'READ COMMITTED';

// 40001 serialization_failure, 40P01 deadlock_detected: safe to retry the whole transaction.
const RETRYABLE = new Set(['40001', '40P01']);

function isRetryable(error: unknown): boolean {
  return error instanceof QueryFailedError && RETRYABLE.has((error.driverError as { code?: string }).code ?? '');
}

/**
 * Runs a unit of work in one database transaction. Nested calls join the outer transaction, so services
 * compose; `afterCommit` callbacks (enqueueing jobs, evicting caches) run only once the data is committed.
 */
@Injectable()
export class TransactionRunner {
  private readonly logger = new Logger(TransactionRunner.name);
  private readonly storage = new AsyncLocalStorage<ActiveTransaction>();

  constructor(private readonly dataSource: DataSource) {}

  async run<T>(work: (manager: EntityManager) => Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const active = this.storage.getStore();
    if (active) return work(active.manager);

    const retries = options.retries ?? 2;
    for (let attempt = 0; ; attempt++) {
      const tx: ActiveTransaction = { manager: this.dataSource.manager, afterCommit: [], afterEnd: [] };
      try {
        const inTransaction = (manager: EntityManager): Promise<T> => {
          tx.manager = manager;
          return this.storage.run(tx, () => work(manager));
        };
        const isolation = options.isolation ?? DEFAULT_ISOLATION;
        const result = await (isolation === DEFAULT_ISOLATION
          ? this.dataSource.transaction(inTransaction)
          : this.dataSource.transaction(isolation, inTransaction));
        await this.runCallbacks(tx.afterCommit, 'after-commit');
        await this.runCallbacks(tx.afterEnd, 'after-end');
        return result;
      } catch (error) {
        await this.runCallbacks(tx.afterEnd, 'after-end');
        if (attempt >= retries || !isRetryable(error)) throw error;
        await sleep(10 * 2 ** attempt + Math.random() * 10);
      }
    }
  }

  /**
   * The active transaction's manager, or the pool's outside one. Reads made while a unit of work runs go
   * through it: a second connection taken while the transaction holds one can wait forever once every pooled
   * connection is held by a transaction doing the same.
   */
  get manager(): EntityManager {
    return this.storage.getStore()?.manager ?? this.dataSource.manager;
  }

  /** Inside a transaction: defer `callback` until commit (dropped on rollback). Outside: run it now. */
  async afterCommit(callback: () => unknown): Promise<void> {
    const active = this.storage.getStore();
    if (active) active.afterCommit.push(callback);
    else await callback();
  }

  /**
   * Inside a transaction: run `callback` once it has ended, committed or rolled back, and its connection is
   * back in the pool (for records that must outlive a rollback, written on a connection of their own).
   * Outside: run it now.
   */
  async afterEnd(callback: () => unknown): Promise<void> {
    const active = this.storage.getStore();
    if (active) active.afterEnd.push(callback);
    else await callback();
  }

  private async runCallbacks(callbacks: Array<() => unknown>, kind: string): Promise<void> {
    for (const callback of callbacks) {
      try {
        await callback();
      } catch (error) {
        // The transaction has ended; a failed side effect must not turn the request into an error.
        this.logger.error({ err: error }, `${kind} callback failed`);
      }
    }
  }
}
