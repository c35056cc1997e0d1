import { QueryFailedError, type DataSource } from 'typeorm';

/**
 * No connection to PostgreSQL could be had: refused, not established within DB_CONNECT_TIMEOUT_MS, or no
 * pooled connection free within it. The problem filter answers 503 database-unavailable.
 */
export class DatabaseUnavailableError extends Error {
  override readonly name = 'DatabaseUnavailableError';

  constructor(cause: unknown) {
    super(`PostgreSQL unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

type ConnectCallback = (error: Error | undefined, client: unknown, release: unknown) => void;

interface CheckoutPool {
  connect(callback?: ConnectCallback): unknown;
}

/**
 * Marks every failed connection checkout of the data source's pool as DatabaseUnavailableError. pg reports
 * them as plain errors (`connect ECONNREFUSED …`, `timeout exceeded when trying to connect`), which would
 * otherwise be indistinguishable from any other unexpected error (a 500). Call on the initialised data source.
 */
export function markUnavailableDatabase(dataSource: DataSource): DataSource {
  const pool = (dataSource.driver as unknown as { master?: CheckoutPool }).master;
  if (!pool || typeof pool.connect !== 'function') return dataSource;
  const connect = pool.connect.bind(pool);
  pool.connect = (callback?: ConnectCallback): unknown => {
    if (typeof callback !== 'function') {
      return (connect() as Promise<unknown>).catch((error: unknown) => {
        throw new DatabaseUnavailableError(error);
      });
    }
    return connect((error, client, release) =>
      callback(error ? new DatabaseUnavailableError(error) : error, client, release),
    );
  };
  return dataSource;
}

// 57P01-03: the server is shutting down, crashed or starting; 53300: too many connections; 08xxx: connection exceptions.
const UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);
// What pg says when the connection under a running query goes away.
const LOST_CONNECTION = /Connection terminated|connection error|Connection ended unexpectedly/i;

/** The error means PostgreSQL cannot be reached (rather than that this query is wrong). */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (error instanceof DatabaseUnavailableError) return true;
  if (!(error instanceof QueryFailedError)) return false;
  const driverError = error.driverError as { code?: unknown; message?: unknown } | undefined;
  if (typeof driverError?.code === 'string' && UNAVAILABLE_CODES.has(driverError.code)) return true;
  const message = typeof driverError?.message === 'string' ? driverError.message : error.message;
  return LOST_CONNECTION.test(message);
}
