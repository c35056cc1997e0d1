import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Keyset pagination of GET /users by name or email walks these indexes instead of sorting. */
export class UserListIndexes1764381600000 implements MigrationInterface {
  name = 'UserListIndexes1764381600000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX users_organization_name_idx ON users (organization_id, name, id)');
    await queryRunner.query('CREATE INDEX users_organization_email_idx ON users (organization_id, email, id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX users_organization_email_idx');
    await queryRunner.query('DROP INDEX users_organization_name_idx');
  }
}
