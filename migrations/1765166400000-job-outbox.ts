import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Jobs written in the same transaction as the change they are for, so a commit can never lose its job to a
 * Redis outage: the API hands a row to BullMQ right after the commit and deletes it; the worker's relay
 * takes over rows the API could not hand over (src/core/queue/job-outbox*.ts).
 */
export class JobOutbox1765166400000 implements MigrationInterface {
  name = 'JobOutbox1765166400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE job_outbox (
        id uuid PRIMARY KEY,
        prefix text NOT NULL,
        queue text NOT NULL,
        name text NOT NULL,
        job_id text NOT NULL,
        data jsonb NOT NULL,
        options jsonb NOT NULL DEFAULT '{}',
        run_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        attempts integer NOT NULL DEFAULT 0,
        last_error text,
        next_attempt_at timestamptz(3)
      )`);
    // The relay's claim: the oldest rows of one BullMQ prefix.
    await queryRunner.query('CREATE INDEX job_outbox_prefix_created_at_idx ON job_outbox (prefix, created_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE job_outbox');
  }
}
