import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { TransactionRunner } from '../src/core/database/transaction.runner';
import { createTestApp } from './helpers/test-app';

/*
 * Closing the app (graceful shutdown) while queries still run: requests whose client hung up are no longer
 * awaited by the HTTP server, so their handlers are still querying when Nest destroys the data source. As
 * under load, more work than pooled connections: some holds a connection, the rest waits for one.
 */
describe('Closing the data source with queries in flight', () => {
  let app: NestFastifyApplication;
  /** Statements sent on a connection that was still busy with another (pg warns once, this counts all). */
  const overlapping: string[] = [];
  const query = Client.prototype.query;

  beforeAll(async () => {
    app = await createTestApp({ DB_POOL_SIZE: '2', DB_CONNECT_TIMEOUT_MS: '10000' });
    // Passed through unchanged; only watched (jest's sandbox does not see the process's 'warning' events).
    Client.prototype.query = function watchedQuery(this: Client, ...args: unknown[]) {
      const state = this as unknown as { _activeQuery?: unknown; _queryQueue?: unknown[] };
      if (state._activeQuery || state._queryQueue?.length)
        overlapping.push(String((args[0] as { text?: string })?.text ?? args[0]));
      return (query as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof query;
  });
  afterAll(() => {
    Client.prototype.query = query;
  });

  it('should let running and waiting queries and transactions finish, one query per connection at a time, before the pool closes', async () => {
    const runner = app.get(TransactionRunner);
    const dataSource = app.get(DataSource);
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 5; i++) {
      work.push(dataSource.query('SELECT pg_sleep(0.3), 7 AS answer').then((rows: { answer: number }[]) => rows));
      work.push(
        runner.run(async (m) => {
          await m.query('SELECT pg_sleep(0.2)');
          const [row] = await m.query<{ answer: number }[]>('SELECT 42 AS answer');
          return row.answer;
        }),
      );
    }
    const settled = Promise.allSettled(work);
    await sleep(100);

    await app.close();
    const results = await settled;
    // Without the drain, TypeORM released busy connections to the pool, which handed them to waiting work
    // (pg: "Calling client.query() when the client is already executing a query"), then ended them.
    expect(overlapping).toEqual([]);
    expect(results).toEqual(
      Array.from({ length: 5 }, () => [
        { status: 'fulfilled', value: [{ pg_sleep: '', answer: 7 }] },
        { status: 'fulfilled', value: 42 },
      ]).flat(),
    );
    expect(dataSource.isInitialized).toBe(false);
  });
});
