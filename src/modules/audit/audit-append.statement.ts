import type { PoolClient } from 'pg';
import { QueryFailedError, type EntityManager } from 'typeorm';
import type { AuditLog } from './audit-log.entity';

/** The name the append statement is prepared under, once per pooled connection (see pg_prepared_statements). */
export const AUDIT_APPEND_STATEMENT = 'atrium_audit_append';

/** One round trip for both rows; the queue row is what AuditChainer finds pending entries by. */
export const AUDIT_APPEND_SQL = `WITH entry AS (
  INSERT INTO audit_logs (id, occurred_at, organization_id, actor_id, action, resource_type, resource_id,
    outcome, ip, user_agent, request_id, changes, details, chain_key)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
)
INSERT INTO audit_pending (chain_key, occurred_at, entry_id) VALUES ($14, $2, $1)`;

/** The entry's columns in the order of AUDIT_APPEND_SQL's $1–$14. */
export function auditEntryValues(row: AuditLog): unknown[] {
  return [
    row.id,
    row.occurredAt,
    row.organizationId,
    row.actorId,
    row.action,
    row.resourceType,
    row.resourceId,
    row.outcome,
    row.ip,
    row.userAgent,
    row.requestId,
    row.changes === null ? null : JSON.stringify(row.changes),
    row.details === null ? null : JSON.stringify(row.details),
    row.chainKey,
  ];
}

/**
 * Writes the entry and its audit_pending row in `m`'s transaction. Inside a transaction the statement goes
 * straight to the transaction's own pg client as a named prepared statement: PostgreSQL parses and plans it
 * once per connection and every later entry sends only Bind/Execute, and TypeORM's query path (logging,
 * subscribers broadcast, result shaping) is skipped. Values are always bound, never spliced into the SQL.
 * Errors come back as TypeORM's QueryFailedError, as from m.query, so retries and the problem filter see
 * the same error either way. Without a transaction's query runner it falls back to m.query.
 */
export async function appendAuditEntry(m: EntityManager, row: AuditLog): Promise<void> {
  const values = auditEntryValues(row);
  const runner = m.queryRunner;
  if (!runner || runner.isReleased || !runner.isTransactionActive) {
    await m.query(AUDIT_APPEND_SQL, values);
    return;
  }
  const client = (await runner.connect()) as PoolClient;
  try {
    await client.query({ name: AUDIT_APPEND_STATEMENT, text: AUDIT_APPEND_SQL, values });
  } catch (error) {
    m.connection.logger.logQueryError(error as Error, AUDIT_APPEND_SQL, values, runner);
    throw new QueryFailedError(AUDIT_APPEND_SQL, values, error as Error);
  }
}
