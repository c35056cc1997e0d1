import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Deferred hash chain: a request's transaction inserts its audit entry with seq, prev_hash and hash NULL
 * ("pending"), taking no shared lock, and the chainer (AuditChainer) links pending entries into their chain
 * later, in batches, under one head lock per batch. The partial index finds pending rows per chain without
 * touching chained ones; created on the partitioned parent, every partition (present and future) gets it.
 */
export class AuditDeferredChain1764993600000 implements MigrationInterface {
  name = 'AuditDeferredChain1764993600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE audit_logs ALTER COLUMN seq DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL');
    // An entry is either pending (no seq, no hash) or chained (both): never half-linked.
    await queryRunner.query(
      'ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_chained_check CHECK ((seq IS NULL) = (hash IS NULL))',
    );
    await queryRunner.query(
      'CREATE INDEX audit_logs_pending_idx ON audit_logs (chain_key, occurred_at, id) WHERE seq IS NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Hashes are computed by the application: pending entries cannot be linked here, and must not be lost.
    const [{ pending }] = (await queryRunner.query(
      'SELECT count(*)::int AS pending FROM audit_logs WHERE seq IS NULL',
    )) as {
      pending: number;
    }[];
    if (pending > 0) {
      throw new Error(`audit_logs holds ${pending} unchained entries: let the worker's chainer link them first`);
    }
    await queryRunner.query('DROP INDEX audit_logs_pending_idx');
    await queryRunner.query('ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_chained_check');
    await queryRunner.query('ALTER TABLE audit_logs ALTER COLUMN seq SET NOT NULL, ALTER COLUMN hash SET NOT NULL');
  }
}
