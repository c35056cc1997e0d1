import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';

/** A claim on (scope, key): the request that holds it runs the handler; `token` proves it is still the holder. */
export interface IdempotencyClaim {
  /** created_at of the row as text: a later claim (after this one's lock expired) has another. */
  token: string;
}

export type IdempotencyRecord =
  | { status: 'in_progress'; requestHash: string }
  | { status: 'completed'; requestHash: string; responseStatus: number; responseBody: unknown };

/** Either the caller now holds the key, or someone did before and this is what they left. */
export type ClaimResult = { claimed: IdempotencyClaim } | { existing: IdempotencyRecord };

interface ExistingRow {
  request_hash: string;
  status: 'in_progress' | 'completed';
  response_status: number | null;
  response_body: unknown;
  /** SQL NULL (the handler returned nothing), as opposed to a JSON null. */
  no_body: boolean;
}

/**
 * The idempotency_keys table. Every statement is a single autocommit statement (never part of the
 * handler's transaction), so a claim is visible to concurrent retries at once and survives the handler's
 * rollback. Expired rows count as absent: a claim takes an expired row over in the same statement.
 */
@Injectable()
export class IdempotencyStore {
  constructor(
    private readonly dataSource: DataSource,
    private readonly config: AppConfig,
  ) {}

  /**
   * Claims (scope, key) for a request with this hash, or returns the live record that prevents it.
   * INSERT … ON CONFLICT: exactly one of any number of concurrent requests gets the claim.
   */
  async claim(scope: string, key: string, requestHash: string): Promise<ClaimResult> {
    // A row can vanish between the two statements (its request failed, or it expired and was taken
    // over); each loop then tries again. Three rounds are plenty: each needs a concurrent state change.
    for (let attempt = 0; attempt < 3; attempt++) {
      const claimed = await this.dataSource.query<{ token: string }[]>(
        `INSERT INTO idempotency_keys AS k (scope, key, request_hash, status, created_at, expires_at)
         VALUES ($1, $2, $3, 'in_progress', clock_timestamp(), clock_timestamp() + make_interval(secs => $4))
         ON CONFLICT (scope, key) DO UPDATE
           SET request_hash = EXCLUDED.request_hash, status = 'in_progress', response_status = NULL,
               response_body = NULL, created_at = EXCLUDED.created_at, expires_at = EXCLUDED.expires_at
           WHERE k.expires_at <= clock_timestamp()
         RETURNING created_at::text AS token`,
        [scope, key, requestHash, this.config.idempotency.lockSeconds],
      );
      if (claimed.length) return { claimed: { token: claimed[0].token } };
      const [row] = await this.dataSource.query<ExistingRow[]>(
        `SELECT request_hash, status, response_status, response_body, response_body IS NULL AS no_body FROM idempotency_keys
          WHERE scope = $1 AND key = $2 AND expires_at > clock_timestamp()`,
        [scope, key],
      );
      if (!row) continue;
      if (row.status === 'in_progress') return { existing: { status: 'in_progress', requestHash: row.request_hash } };
      return {
        existing: {
          status: 'completed',
          requestHash: row.request_hash,
          responseStatus: row.response_status ?? 200,
          responseBody: row.no_body ? undefined : row.response_body,
        },
      };
    }
    // Only reachable under a storm of expiring and failing requests on one key: let the client retry.
    return { existing: { status: 'in_progress', requestHash } };
  }

  /**
   * Stores the response of a claimed request; it is replayed until IDEMPOTENCY_TTL_SECONDS from now.
   * False when the claim was lost (its lock expired and another request took the key over).
   */
  async complete(scope: string, key: string, claim: IdempotencyClaim, status: number, body: unknown): Promise<boolean> {
    const result = await this.dataSource.query<[unknown[], number]>(
      `UPDATE idempotency_keys
          SET status = 'completed', response_status = $4, response_body = $5::jsonb,
              expires_at = clock_timestamp() + make_interval(secs => $6)
        WHERE scope = $1 AND key = $2 AND created_at = $3::timestamptz AND status = 'in_progress'`,
      [
        scope,
        key,
        claim.token,
        status,
        body === undefined ? null : JSON.stringify(body),
        this.config.idempotency.ttlSeconds,
      ],
    );
    return result[1] > 0;
  }

  /** Gives up a claim (its request failed), so that the client can retry with the same key. */
  async release(scope: string, key: string, claim: IdempotencyClaim): Promise<void> {
    await this.dataSource.query(
      `DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND created_at = $3::timestamptz AND status = 'in_progress'`,
      [scope, key, claim.token],
    );
  }

  /** Deletes up to `limit` expired rows (for a periodic job); returns how many. Uses idempotency_keys_expiry_idx. */
  async purgeExpired(limit = 10_000): Promise<number> {
    const result = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY(
         SELECT ctid FROM idempotency_keys WHERE expires_at <= clock_timestamp() LIMIT $1))`,
      [limit],
    );
    return result[1];
  }
}
