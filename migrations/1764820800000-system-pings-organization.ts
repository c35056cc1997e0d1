import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Pings belong to the organization that sent them: GET /system/pings/:id answered any organization's ping
 * to any other (cross-tenant read). Pings made before this have no organization and are nobody's.
 */
export class SystemPingsOrganization1764820800000 implements MigrationInterface {
  name = 'SystemPingsOrganization1764820800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      'ALTER TABLE system_pings ADD COLUMN organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE system_pings DROP COLUMN organization_id');
  }
}
