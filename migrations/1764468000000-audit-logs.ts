import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * audit_logs: append-only, RANGE-partitioned by month on occurred_at, with a DEFAULT partition that should
 * stay empty (anything there means a month was not created in time). Partition upkeep is two SQL functions
 * so the worker job that calls them stays thin and the logic is reviewable here.
 */
export class AuditLogs1764468000000 implements MigrationInterface {
  name = 'AuditLogs1764468000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE audit_logs (
        id uuid NOT NULL,
        occurred_at timestamptz(3) NOT NULL,
        organization_id uuid,
        actor_id uuid,
        action text NOT NULL,
        resource_type text,
        resource_id text,
        outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
        ip text,
        user_agent text,
        request_id text,
        changes jsonb,
        details jsonb,
        chain_key text NOT NULL,
        seq bigint NOT NULL,
        prev_hash text,
        hash text NOT NULL,
        PRIMARY KEY (id, occurred_at)
      ) PARTITION BY RANGE (occurred_at)`);
    await queryRunner.query('CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT');
    // Created on the parent, so every partition gets them.
    await queryRunner.query('CREATE INDEX audit_logs_org_time_idx ON audit_logs (organization_id, occurred_at, id)');
    await queryRunner.query('CREATE INDEX audit_logs_actor_idx ON audit_logs (organization_id, actor_id, occurred_at)');
    await queryRunner.query(
      'CREATE INDEX audit_logs_resource_idx ON audit_logs (organization_id, resource_type, resource_id, occurred_at)',
    );
    await queryRunner.query('CREATE INDEX audit_logs_action_idx ON audit_logs (organization_id, action, occurred_at)');
    await queryRunner.query('CREATE INDEX audit_logs_chain_idx ON audit_logs (chain_key, seq)');
    // The head of each hash chain (one chain per organization; 'global' for events without one).
    await queryRunner.query(`
      CREATE TABLE audit_chain_heads (
        chain_key text PRIMARY KEY,
        seq bigint NOT NULL,
        hash text NOT NULL
      )`);
    await queryRunner.query(`
      CREATE FUNCTION audit_ensure_partitions(months_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        month date := date_trunc('month', now())::date;
        last date := (date_trunc('month', now()) + make_interval(months => months_ahead))::date;
        created integer := 0;
        name text;
      BEGIN
        WHILE month <= last LOOP
          name := 'audit_logs_' || to_char(month, 'YYYY_MM');
          IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                           name, month, (month + interval '1 month')::date);
            created := created + 1;
          END IF;
          month := (month + interval '1 month')::date;
        END LOOP;
        RETURN created;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION audit_drop_partitions_before(cutoff timestamptz) RETURNS integer LANGUAGE plpgsql AS $$
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
    await queryRunner.query('SELECT audit_ensure_partitions(3)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION audit_drop_partitions_before(timestamptz)');
    await queryRunner.query('DROP FUNCTION audit_ensure_partitions(integer)');
    await queryRunner.query('DROP TABLE audit_chain_heads');
    await queryRunner.query('DROP TABLE audit_logs');
  }
}
