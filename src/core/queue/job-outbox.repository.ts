import { Injectable } from '@nestjs/common';
import type { JobsOptions } from 'bullmq';
import { DataSource, type EntityManager } from 'typeorm';
import type { JobEnvelope } from './job-envelope';

/** A job waiting in PostgreSQL to be handed to BullMQ. */
export interface OutboxJob {
  id: string;
  /** BullMQ prefix (`${REDIS_KEY_PREFIX}bull`): a process relays only rows meant for the Redis keys it uses. */
  prefix: string;
  queue: string;
  name: string;
  jobId: string;
  data: JobEnvelope<unknown>;
  /** What is left of the caller's JobsOptions once `jobId` and `delay` have columns of their own. */
  options: Omit<JobsOptions, 'jobId' | 'delay'>;
  /** A delayed job's absolute run time: a job relayed late keeps it instead of starting its delay over. */
  runAt: Date | null;
  createdAt: Date;
  attempts: number;
}

const COLUMNS = `id, prefix, queue, name, job_id AS "jobId", data, options, run_at AS "runAt", created_at AS "createdAt",
  attempts`;

/** Queries of `job_outbox`; every one is a single statement on primary key or the (prefix, created_at) index. */
@Injectable()
export class JobOutboxRepository {
  constructor(private readonly dataSource: DataSource) {}

  async insert(job: Omit<OutboxJob, 'createdAt' | 'attempts'>, manager: EntityManager): Promise<void> {
    await manager.query(
      `INSERT INTO job_outbox (id, prefix, queue, name, job_id, data, options, run_at)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7::jsonb, $8)`,
      [
        job.id,
        job.prefix,
        job.queue,
        job.name,
        job.jobId,
        JSON.stringify(job.data),
        JSON.stringify(job.options),
        job.runAt,
      ],
    );
  }

  /**
   * Deletes a row the API handed over itself, unless a relay holds it right now: the request must not wait for
   * the relay's transaction, and the relay deletes the row itself once its add (a duplicate, deduped) is done.
   */
  async deleteUnlessClaimed(id: string): Promise<void> {
    await this.dataSource.query(
      'DELETE FROM job_outbox WHERE id IN (SELECT id FROM job_outbox WHERE id = $1 FOR UPDATE SKIP LOCKED)',
      [id],
    );
  }

  /**
   * Locks up to `limit` rows due for the relay, oldest first, inside the caller's transaction. SKIP LOCKED:
   * concurrent relays (several worker processes) each get different rows and never wait for one another.
   */
  async claim(
    manager: EntityManager,
    criteria: { prefix: string; queues: string[]; olderThanMs: number; limit: number },
  ): Promise<OutboxJob[]> {
    return manager.query<OutboxJob[]>(
      `SELECT ${COLUMNS} FROM job_outbox
       WHERE prefix = $1 AND queue = ANY($2) AND created_at <= now() - make_interval(secs => $3::double precision / 1000)
         AND (next_attempt_at IS NULL OR next_attempt_at <= now())
       ORDER BY created_at
       LIMIT $4
       FOR UPDATE SKIP LOCKED`,
      [criteria.prefix, criteria.queues, criteria.olderThanMs, criteria.limit],
    );
  }

  async deleteMany(ids: string[], manager: EntityManager): Promise<void> {
    if (ids.length) await manager.query('DELETE FROM job_outbox WHERE id = ANY($1)', [ids]);
  }

  /** Counts a failed hand-over and holds the row back for `retryInMs`. */
  async recordFailure(id: string, error: string, retryInMs: number, manager: EntityManager): Promise<void> {
    await manager.query(
      `UPDATE job_outbox SET attempts = attempts + 1, last_error = $2,
         next_attempt_at = now() + make_interval(secs => $3::double precision / 1000)
       WHERE id = $1`,
      [id, error.slice(0, 1000), retryInMs],
    );
  }

  /** Rows waiting for `prefix` and the age of the oldest, for the metrics page. */
  async backlog(prefix: string): Promise<{ rows: number; oldestAgeSeconds: number }> {
    const [row] = await this.dataSource.query<{ rows: number; oldestAgeSeconds: number | null }[]>(
      `SELECT count(*)::int AS rows, extract(epoch FROM now() - min(created_at))::float8 AS "oldestAgeSeconds"
       FROM job_outbox WHERE prefix = $1`,
      [prefix],
    );
    return { rows: row.rows, oldestAgeSeconds: Math.max(0, row.oldestAgeSeconds ?? 0) };
  }
}
