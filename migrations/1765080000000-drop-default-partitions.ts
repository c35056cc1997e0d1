import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Drops the DEFAULT partitions of posts and audit_logs. With a default partition the planner cannot treat
 * the range partitions as ordered, so a list ordered by the partition key (posts by created_at, the audit
 * trail by occurred_at) merges every partition (Merge Append) instead of reading the newest ones first and
 * stopping at the page's LIMIT (ordered Append, the older partitions "never executed").
 *
 * Rows already in a default partition move to the partition of their month/quarter, created for them. From
 * now on every partition an insert needs must exist beforehand: *_ensure_partition_for(ts) creates the one
 * holding ts, the *_ensure_partitions(n) upkeep (migration, worker start and its schedule) keeps the coming
 * ones created, and an insert outside every partition fails loudly instead of landing where nobody looks.
 */
export class DropDefaultPartitions1765080000000 implements MigrationInterface {
  name = 'DropDefaultPartitions1765080000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE FUNCTION audit_ensure_partition_for(at timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        month date := date_trunc('month', at)::date;
        name text := 'audit_logs_' || to_char(month, 'YYYY_MM');
      BEGIN
        IF to_regclass(name) IS NOT NULL THEN
          RETURN false;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF audit_logs FOR VALUES FROM (%L) TO (%L)',
                       name, month, (month + interval '1 month')::date);
        RETURN true;
      END $$`);
    await queryRunner.query(`
      CREATE FUNCTION posts_ensure_partition_for(at timestamptz) RETURNS boolean LANGUAGE plpgsql AS $$
      DECLARE
        quarter date := date_trunc('quarter', at)::date;
        name text := 'posts_' || to_char(quarter, 'YYYY') || '_q' || to_char(quarter, 'Q');
      BEGIN
        IF to_regclass(name) IS NOT NULL THEN
          RETURN false;
        END IF;
        EXECUTE format('CREATE TABLE %I PARTITION OF posts FOR VALUES FROM (%L) TO (%L)',
                       name, quarter, (quarter + interval '3 months')::date);
        RETURN true;
      END $$`);
    await this.dropDefault(queryRunner, 'audit_logs', 'occurred_at', 'audit_ensure_partition_for');
    await this.dropDefault(queryRunner, 'posts', 'created_at', 'posts_ensure_partition_for');
    await queryRunner.query('SELECT audit_ensure_partitions(3)');
    await queryRunner.query('SELECT posts_ensure_partitions(2)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE posts_default PARTITION OF posts DEFAULT');
    await queryRunner.query('CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT');
    await queryRunner.query('DROP FUNCTION posts_ensure_partition_for(timestamptz)');
    await queryRunner.query('DROP FUNCTION audit_ensure_partition_for(timestamptz)');
  }

  /**
   * Detached first: a partition cannot be created for rows that still sit in the default partition. The
   * detached table keeps its rows (and the same columns in the same order) until they are copied back
   * through the parent, which routes each to its new partition.
   */
  private async dropDefault(queryRunner: QueryRunner, table: string, key: string, ensureFor: string): Promise<void> {
    const name = `${table}_default`;
    if (!(await this.exists(queryRunner, name))) return;
    await queryRunner.query(`ALTER TABLE ${table} DETACH PARTITION ${name}`);
    await queryRunner.query(`SELECT ${ensureFor}(k) FROM (SELECT DISTINCT ${key} AS k FROM ${name}) keys`);
    await queryRunner.query(`INSERT INTO ${table} SELECT * FROM ${name}`);
    await queryRunner.query(`DROP TABLE ${name}`);
  }

  private async exists(queryRunner: QueryRunner, name: string): Promise<boolean> {
    const [row] = (await queryRunner.query('SELECT to_regclass($1) IS NOT NULL AS found', [name])) as {
      found: boolean;
    }[];
    return row.found;
  }
}
