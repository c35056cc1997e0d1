import { Logger } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DataSource } from 'typeorm';

/** Past this, destroy goes ahead anyway; in a process SHUTDOWN_TIMEOUT_MS ends everything sooner or later. */
const DRAIN_LIMIT_MS = 30_000;
const POLL_MS = 20;

interface DriverWithRunners {
  connectedQueryRunners?: unknown[];
}

/**
 * Makes `dataSource.destroy()` wait until no query runner holds a pooled connection. TypeORM's destroy
 * releases every connected runner back to the pool at once, even one whose query is still running, and then
 * ends the pool: the pool hands that busy connection to the next checkout (pg warns "Calling client.query()
 * when the client is already executing a query") or ends it under the query. During a graceful shutdown this
 * is the normal case, not a corner: Nest destroys the data source once the HTTP server has closed, and the
 * server does not wait for requests whose client has hung up (a load balancer or a load test closing its
 * connections), whose handlers are still querying. Call on the initialised data source.
 */
export function drainBeforeDestroy(dataSource: DataSource, limitMs = DRAIN_LIMIT_MS): DataSource {
  const destroy = dataSource.destroy.bind(dataSource);
  const logger = new Logger('Database');
  dataSource.destroy = async (): Promise<void> => {
    const runners = (dataSource.driver as unknown as DriverWithRunners).connectedQueryRunners;
    if (runners) {
      const deadline = Date.now() + limitMs;
      // Twice idle in a row: a handler between two queries (awaiting Redis, say) would otherwise find the pool gone.
      let idlePolls = 0;
      while (idlePolls < 2 && Date.now() < deadline) {
        idlePolls = runners.length === 0 ? idlePolls + 1 : 0;
        if (idlePolls < 2) await sleep(POLL_MS);
      }
      if (runners.length > 0) {
        logger.warn(`closing the pool with ${runners.length} connection(s) still in use after ${limitMs} ms`);
      }
    }
    return destroy();
  };
  return dataSource;
}
