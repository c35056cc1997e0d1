import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hash chain moves out of audit_logs into an insert-only side table, so an entry is written once and never
 * updated: linking used to UPDATE every entry (seq is indexed, so not HOT), rewriting the row with its JSON and
 * every index entry a second time.
 *
 * - audit_pending: the queue of entries written but not linked yet. The request inserts into it in the same
 *   statement as the entry; the chainer deletes from it in the transaction that inserts the links, so an entry
 *   is pending exactly until its link commits (a late commit simply shows up in the queue late).
 * - audit_chain_links: one row per linked entry (chain_key, seq, prev_hash, hash), unique per chain position
 *   and per entry. occurred_at is copied so the entry's partition can be found and retention can drop links
 *   with their entries (BRIN: links are appended in about occurred_at order, and the index costs almost
 *   nothing to maintain).
 *
 * Existing chained rows keep their seq and hash (the hash covers the same fields as before), pending ones are
 * queued. The indexes that only served the chain in audit_logs go with its columns.
 */
export class AuditChainLinks1765252800000 implements MigrationInterface {
  name = 'AuditChainLinks1765252800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_chain_links (
        chain_key text NOT NULL,
        seq bigint NOT NULL CHECK (seq > 0),
        entry_id uuid NOT NULL,
        occurred_at timestamptz(3) NOT NULL,
        prev_hash text,
        hash text NOT NULL,
        PRIMARY KEY (chain_key, seq),
        CONSTRAINT audit_chain_links_entry_key UNIQUE (entry_id)
      )`);
    await queryRunner.query(
      'CREATE INDEX audit_chain_links_occurred_at_idx ON audit_chain_links USING brin (occurred_at)',
    );
    // A queue: rows live for about one chainer pass, so vacuum it by row count rather than by table share.
    await queryRunner.query(`
      CREATE TABLE audit_pending (
        chain_key text NOT NULL,
        occurred_at timestamptz(3) NOT NULL,
        entry_id uuid NOT NULL,
        PRIMARY KEY (chain_key, occurred_at, entry_id)
      ) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000)`);

    await queryRunner.query(`
      INSERT INTO audit_chain_links (chain_key, seq, entry_id, occurred_at, prev_hash, hash)
      SELECT chain_key, seq, id, occurred_at, prev_hash, hash FROM audit_logs WHERE seq IS NOT NULL`);
    await queryRunner.query(`
      INSERT INTO audit_pending (chain_key, occurred_at, entry_id)
      SELECT chain_key, occurred_at, id FROM audit_logs WHERE seq IS NULL`);

    await queryRunner.query('DROP INDEX audit_logs_pending_idx');
    await queryRunner.query('DROP INDEX audit_logs_chain_idx');
    await queryRunner.query(`
      ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_chained_check,
        DROP COLUMN seq, DROP COLUMN prev_hash, DROP COLUMN hash`);

    // Retention drops a month of entries at once: their links and queue rows go in the same transaction.
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION audit_drop_partitions_before(cutoff timestamptz) RETURNS integer
      LANGUAGE plpgsql AS $$
      DECLARE
        part record;
        dropped integer := 0;
        dropped_until timestamptz;
        month_end timestamptz;
      BEGIN
        FOR part IN
          SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'audit_logs'::regclass AND c.relname ~ '^audit_logs_[0-9]{4}_[0-9]{2}$'
        LOOP
          month_end := to_date(substring(part.relname from 12), 'YYYY_MM') + interval '1 month';
          IF month_end <= cutoff THEN
            EXECUTE format('ALTER TABLE audit_logs DETACH PARTITION %I', part.relname);
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
            dropped_until := greatest(dropped_until, month_end);
          END IF;
        END LOOP;
        IF dropped_until IS NOT NULL THEN
          DELETE FROM audit_chain_links WHERE occurred_at < dropped_until;
          DELETE FROM audit_pending WHERE occurred_at < dropped_until;
        END IF;
        RETURN dropped;
      END $$`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    // Hashes are computed by the application: pending entries cannot be linked here, and must not be lost.
    const [{ pending }] = (await queryRunner.query('SELECT count(*)::int AS pending FROM audit_pending')) as {
      pending: number;
    }[];
    if (pending > 0) {
      throw new Error(`audit_pending holds ${pending} unlinked entries: let the worker's chainer link them first`);
    }
    await queryRunner.query(`
      CREATE OR REPLACE FUNCTION audit_drop_partitions_before(cutoff timestamptz) RETURNS integer
      LANGUAGE plpgsql AS $$
      DECLARE
        part record;
        dropped integer := 0;
      BEGIN
        FOR part IN
          SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) AS bound
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
           WHERE i.inhparent = 'audit_logs'::regclass AND c.relname ~ '^audit_logs_[0-9]{4}_[0-9]{2}$'
        LOOP
          IF to_date(substring(part.relname from 12), 'YYYY_MM') + interval '1 month' <= cutoff THEN
            EXECUTE format('ALTER TABLE audit_logs DETACH PARTITION %I', part.relname);
            EXECUTE format('DROP TABLE %I', part.relname);
            dropped := dropped + 1;
          END IF;
        END LOOP;
        RETURN dropped;
      END $$`);
    await queryRunner.query(
      'ALTER TABLE audit_logs ADD COLUMN seq bigint, ADD COLUMN prev_hash text, ADD COLUMN hash text',
    );
    await queryRunner.query(`
      UPDATE audit_logs a SET seq = l.seq, prev_hash = l.prev_hash, hash = l.hash
        FROM audit_chain_links l
       WHERE a.id = l.entry_id AND a.occurred_at = l.occurred_at`);
    await queryRunner.query(
      'ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_chained_check CHECK ((seq IS NULL) = (hash IS NULL))',
    );
    await queryRunner.query('CREATE INDEX audit_logs_chain_idx ON audit_logs (chain_key, seq)');
    await queryRunner.query(
      'CREATE INDEX audit_logs_pending_idx ON audit_logs (chain_key, occurred_at, id) WHERE seq IS NULL',
    );
    await queryRunner.query('DROP TABLE audit_pending');
    await queryRunner.query('DROP TABLE audit_chain_links');
  }
}
