import { QueryFailedError, type DataSource } from 'typeorm';
import { DatabaseUnavailableError, isDatabaseUnavailable, markUnavailableDatabase } from './database-unavailable';

type Callback = (error: Error | undefined, client: unknown, release: unknown) => void;

function dataSourceWithPool(outcome: Error | 'client') {
  const pool = {
    connect(callback?: Callback): unknown {
      if (!callback) return outcome === 'client' ? Promise.resolve('client') : Promise.reject(outcome);
      if (outcome === 'client') callback(undefined, 'client', 'release');
      else callback(outcome, undefined, undefined);
      return undefined;
    },
  };
  return { pool, dataSource: { driver: { master: pool } } as unknown as DataSource };
}

function queryFailed(driverError: { code?: string; message: string }): QueryFailedError {
  return new QueryFailedError('SELECT 1', [], Object.assign(new Error(driverError.message), driverError));
}

describe(markUnavailableDatabase.name, () => {
  it('should turn a failed connection checkout into DatabaseUnavailableError, callback and promise style', async () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const { pool, dataSource } = dataSourceWithPool(refused);
    markUnavailableDatabase(dataSource);

    const viaCallback = await new Promise<Error | undefined>((resolve) => pool.connect((error) => resolve(error)));
    expect(viaCallback).toBeInstanceOf(DatabaseUnavailableError);
    expect(viaCallback?.cause).toBe(refused);
    await expect(pool.connect()).rejects.toBeInstanceOf(DatabaseUnavailableError);
  });

  it('should hand over a connection unchanged when the checkout works', async () => {
    const { pool, dataSource } = dataSourceWithPool('client');
    markUnavailableDatabase(dataSource);
    const args = await new Promise<unknown[]>((resolve) => pool.connect((...received) => resolve(received)));
    expect(args).toEqual([undefined, 'client', 'release']);
  });
});

describe(isDatabaseUnavailable.name, () => {
  it.each([
    ['a failed checkout', new DatabaseUnavailableError(new Error('timeout exceeded when trying to connect'))],
    ['the server shutting down (57P01)', queryFailed({ code: '57P01', message: 'terminating connection' })],
    ['too many connections (53300)', queryFailed({ code: '53300', message: 'too many clients' })],
    ['a connection lost mid-query', queryFailed({ message: 'Connection terminated unexpectedly' })],
  ])('should be true for %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it.each([
    ['a unique violation', queryFailed({ code: '23505', message: 'duplicate key' })],
    ['a statement timeout', queryFailed({ code: '57014', message: 'canceling statement due to statement timeout' })],
    ['any other error', new Error('Connection terminated unexpectedly')],
  ])('should be false for %s', (_what, error) => {
    expect(isDatabaseUnavailable(error)).toBe(false);
  });
});
