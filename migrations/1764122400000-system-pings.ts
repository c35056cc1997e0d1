import type { MigrationInterface, QueryRunner } from 'typeorm';

export class SystemPings1764122400000 implements MigrationInterface {
  name = 'SystemPings1764122400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE system_pings (
        id uuid PRIMARY KEY,
        status text NOT NULL CHECK (status IN ('queued', 'processed')),
        request_id text,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        processed_at timestamptz(3),
        processed_by text
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE system_pings');
  }
}
