import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { DataSource, QueryFailedError, type EntityManager } from 'typeorm';
import { PostgresQueryRunner } from 'typeorm/driver/postgres/PostgresQueryRunner';
import { TransactionRunner } from '../src/core/database/transaction.runner';
import { createTestApp } from './helpers/test-app';

describe(TransactionRunner.name, () => {
  const table = `tx_runner_test_${randomBytes(4).toString('hex')}`;
  let app: NestFastifyApplication;
  let runner: TransactionRunner;
  let dataSource: DataSource;

  beforeAll(async () => {
    app = await createTestApp();
    runner = app.get(TransactionRunner);
    dataSource = app.get(DataSource);
    await dataSource.query(
      `CREATE TABLE ${table} (id serial PRIMARY KEY, label text NOT NULL, value integer NOT NULL DEFAULT 0)`,
    );
  });
  afterAll(async () => {
    await dataSource.query(`DROP TABLE IF EXISTS ${table}`);
    await app.close();
  });

  function insert(manager: EntityManager, label: string, value = 0): Promise<unknown> {
    return manager.query(`INSERT INTO ${table} (label, value) VALUES ($1, $2)`, [label, value]);
  }

  /** Read outside any transaction (another pooled connection): sees committed rows only. */
  async function committedValues(label: string): Promise<number[]> {
    const rows = await dataSource.query<{ value: number }[]>(
      `SELECT value FROM ${table} WHERE label = $1 ORDER BY id`,
      [label],
    );
    return rows.map((row) => row.value);
  }

  describe('run', () => {
    it('should commit every write and return the result when the work succeeds', async () => {
      const label = randomUUID();
      const result = await runner.run(async (manager) => {
        await insert(manager, label, 1);
        await insert(manager, label, 2);
        await insert(manager, label, 3);
        return 'done';
      });
      expect(result).toBe('done');
      expect(await committedValues(label)).toEqual([1, 2, 3]);
    });

    it('should roll back all writes and rethrow when the work throws after writing', async () => {
      const label = randomUUID();
      const failure = new Error('boom');
      await expect(
        runner.run(async (manager) => {
          await insert(manager, label, 1);
          await insert(manager, label, 2);
          // Visible inside the transaction...
          expect(await manager.query(`SELECT 1 FROM ${table} WHERE label = $1`, [label])).toHaveLength(2);
          throw failure;
        }),
      ).rejects.toBe(failure);
      // ...and nowhere after the rollback.
      expect(await committedValues(label)).toEqual([]);
    });

    it('should not make writes visible to other connections when the transaction has not committed yet', async () => {
      const label = randomUUID();
      await runner.run(async (manager) => {
        await insert(manager, label, 1);
        expect(await committedValues(label)).toEqual([]);
      });
      expect(await committedValues(label)).toEqual([1]);
    });

    it('should join the outer transaction when run is nested', async () => {
      const label = randomUUID();
      await runner.run(async (outer) => {
        await insert(outer, label, 1);
        await runner.run(async (inner) => {
          expect(inner).toBe(outer);
          await insert(inner, label, 2);
        });
        // The inner call returned but nothing is committed until the outer work finishes.
        expect(await committedValues(label)).toEqual([]);
      });
      expect(await committedValues(label)).toEqual([1, 2]);
    });

    it('should roll back the inner write when the outer work fails after a nested run', async () => {
      const label = randomUUID();
      await expect(
        runner.run(async (outer) => {
          await insert(outer, label, 1);
          await runner.run((inner) => insert(inner, label, 2));
          throw new Error('outer failed');
        }),
      ).rejects.toThrow('outer failed');
      expect(await committedValues(label)).toEqual([]);
    });
  });

  describe('afterCommit', () => {
    it('should run the callback after the commit and before run resolves when registered in a transaction', async () => {
      const label = randomUUID();
      const events: string[] = [];
      let seenByCallback: number[] | undefined;
      const result = runner.run(async (manager) => {
        await insert(manager, label, 7);
        await runner.afterCommit(async () => {
          // Read through another connection: the row is only there if the commit already happened.
          seenByCallback = await committedValues(label);
          events.push('callback');
        });
        events.push('work done');
      });
      await result;
      events.push('run resolved');
      expect(events).toEqual(['work done', 'callback', 'run resolved']);
      expect(seenByCallback).toEqual([7]);
    });

    it('should defer a callback registered in a nested run until the outer transaction commits', async () => {
      const events: string[] = [];
      await runner.run(async () => {
        await runner.run(async () => {
          await runner.afterCommit(() => events.push('callback'));
        });
        events.push('outer work done');
      });
      expect(events).toEqual(['outer work done', 'callback']);
    });

    it('should never run the callback when the transaction rolls back', async () => {
      const callback = jest.fn();
      await expect(
        runner.run(async (manager) => {
          await insert(manager, randomUUID());
          await runner.afterCommit(callback);
          await runner.run(() => runner.afterCommit(callback));
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      await sleep(50);
      expect(callback).not.toHaveBeenCalled();
    });

    it('should run the callback immediately when called outside a transaction', async () => {
      const callback = jest.fn();
      await runner.afterCommit(callback);
      expect(callback).toHaveBeenCalledTimes(1);
    });

    it('should keep the commit and run the remaining callbacks when a callback throws', async () => {
      const label = randomUUID();
      const later = jest.fn();
      const result = await runner.run(async (manager) => {
        await insert(manager, label, 1);
        await runner.afterCommit(() => {
          throw new Error('side effect failed');
        });
        await runner.afterCommit(() => Promise.reject(new Error('async side effect failed')));
        await runner.afterCommit(later);
        return 'committed';
      });
      expect(result).toBe('committed');
      expect(await committedValues(label)).toEqual([1]);
      expect(later).toHaveBeenCalledTimes(1);
    });
  });

  describe('afterEnd', () => {
    it('should run the callback once the transaction has rolled back, on a connection it no longer holds', async () => {
      const label = randomUUID();
      const events: string[] = [];
      await expect(
        runner.run(async (manager) => {
          await insert(manager, label, 1);
          await runner.afterEnd(async () => {
            // Another connection: the rolled-back row is gone, and this one's write stays.
            events.push(`seen ${JSON.stringify(await committedValues(label))}`);
            await insert(dataSource.manager, label, 2);
          });
          events.push('work failed');
          throw new Error('rollback');
        }),
      ).rejects.toThrow('rollback');
      expect(events).toEqual(['work failed', 'seen []']);
      expect(await committedValues(label)).toEqual([2]);
    });

    it('should run the callback after the commit and its afterCommit callbacks', async () => {
      const events: string[] = [];
      await runner.run(async () => {
        await runner.afterEnd(() => events.push('end'));
        await runner.afterCommit(() => events.push('commit'));
      });
      expect(events).toEqual(['commit', 'end']);
    });

    it('should run the callback immediately outside a transaction', async () => {
      const callback = jest.fn();
      await runner.afterEnd(callback);
      expect(callback).toHaveBeenCalledTimes(1);
    });
  });

  describe('manager', () => {
    it("should be the transaction's manager inside a unit of work and the pool's outside", async () => {
      expect(runner.manager).toBe(dataSource.manager);
      await runner.run(async (manager) => {
        await runner.run(() => Promise.resolve(expect(runner.manager).toBe(manager)));
      });
      expect(runner.manager).toBe(dataSource.manager);
    });
  });

  describe('serialization failures', () => {
    /**
     * Two SERIALIZABLE read-then-write increments of the same row, forced to overlap: both read the value
     * before either writes, so the second writer gets 40001 once the first commits.
     */
    async function concurrentIncrements(retries?: number) {
      const label = randomUUID();
      await dataSource.query(`INSERT INTO ${table} (label, value) VALUES ($1, 0)`, [label]);
      let attempts = 0;
      let readers = 0;
      let release: () => void = () => undefined;
      // Fails fast instead of hanging if the two transactions could not run side by side.
      const barrier = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('the two transactions never overlapped')), 5000);
        release = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      barrier.catch(() => undefined);

      const increment = () => {
        let firstAttempt = true;
        return runner.run(
          async (manager) => {
            attempts++;
            const [row] = await manager.query<{ value: number }[]>(`SELECT value FROM ${table} WHERE label = $1`, [
              label,
            ]);
            if (firstAttempt) {
              firstAttempt = false;
              if (++readers === 2) release();
              await barrier;
            }
            await manager.query(`UPDATE ${table} SET value = $1 WHERE label = $2`, [row.value + 1, label]);
          },
          { isolation: 'SERIALIZABLE', retries },
        );
      };
      const outcomes = await Promise.allSettled([increment(), increment()]);
      return { outcomes, attempts, values: await committedValues(label) };
    }

    it('should retry the whole unit of work so both conflicting transactions succeed when one fails to serialize', async () => {
      const { outcomes, attempts, values } = await concurrentIncrements();
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(attempts).toBeGreaterThan(2);
      // No lost update: the retried increment read the value the other one committed.
      expect(values).toEqual([2]);
    });

    it('should surface the serialization failure when no retries are allowed', async () => {
      const { outcomes, attempts, values } = await concurrentIncrements(0);
      const rejected = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(rejected).toHaveLength(1);
      const error: unknown = rejected[0].reason;
      expect(error).toBeInstanceOf(QueryFailedError);
      expect((error as QueryFailedError<Error & { code: string }>).driverError.code).toBe('40001');
      expect(attempts).toBe(2);
      expect(values).toEqual([1]);
    });

    it('should not retry when the work fails with an error that is not a serialization failure', async () => {
      const work = jest.fn(() => Promise.reject(new Error('not retryable')));
      await expect(runner.run(work, { isolation: 'SERIALIZABLE', retries: 3 })).rejects.toThrow('not retryable');
      expect(work).toHaveBeenCalledTimes(1);
    });
  });
  describe('isolation', () => {
    /** The SQL the query runners send while `work` runs (recorded on the way through, still executed). */
    async function statementsOf(work: () => Promise<unknown>): Promise<string[]> {
      const spy = jest.spyOn(PostgresQueryRunner.prototype, 'query');
      try {
        await work();
        return spy.mock.calls.map(([sql]) => sql);
      } finally {
        spy.mockRestore();
      }
    }

    it('should start a READ COMMITTED transaction with one statement: the session default is pinned by the connection', async () => {
      const label = randomUUID();
      let level: string | undefined;
      const sent = await statementsOf(() =>
        runner.run(async (manager) => {
          await insert(manager, label, 1);
          [{ transaction_isolation: level }] =
            await manager.query<{ transaction_isolation: string }[]>('SHOW transaction_isolation');
        }),
      );
      expect(level).toBe('read committed');
      expect(sent[0]).toBe('START TRANSACTION');
      expect(sent.some((sql) => sql.startsWith('SET TRANSACTION'))).toBe(false);
      expect(await committedValues(label)).toEqual([1]);
    });

    it('should set a stricter level when one is asked for', async () => {
      let level: string | undefined;
      const sent = await statementsOf(() =>
        runner.run(
          async (manager) => {
            [{ transaction_isolation: level }] =
              await manager.query<{ transaction_isolation: string }[]>('SHOW transaction_isolation');
          },
          { isolation: 'SERIALIZABLE' },
        ),
      );
      expect(level).toBe('serializable');
      expect(sent.slice(0, 2)).toEqual(['START TRANSACTION', 'SET TRANSACTION ISOLATION LEVEL SERIALIZABLE']);
    });

    it('should take the default from the connection, not from a database or role setting', async () => {
      const [setting] = await dataSource.query<{ setting: string; source: string }[]>(
        "SELECT setting, source FROM pg_settings WHERE name = 'default_transaction_isolation'",
      );
      expect(setting).toEqual({ setting: 'read committed', source: 'client' });
    });
  });
});
