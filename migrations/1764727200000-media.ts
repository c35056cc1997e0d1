import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Media (uploaded files) and direct uploads waiting in quarantine. A media row exists only for bytes that
 * passed type detection and limits; scan_status says whether they may be served (clean, skipped).
 * Object keys are generated (org/<org>/<yyyy>/<mm>/<id>), never derived from the file name.
 */
export class Media1764727200000 implements MigrationInterface {
  name = 'Media1764727200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE media (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        department_id uuid REFERENCES departments (id),
        uploaded_by uuid REFERENCES users (id) ON DELETE SET NULL,
        object_key text NOT NULL UNIQUE,
        filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
        type text NOT NULL CHECK (type IN ('jpg', 'png', 'gif', 'pdf', 'docx', 'xlsx', 'mp4')),
        mime_type text NOT NULL,
        size bigint NOT NULL CHECK (size > 0),
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
        scan_status text NOT NULL CHECK (scan_status IN ('pending', 'clean', 'infected', 'failed', 'skipped')),
        scan_signature text,
        scanned_at timestamptz(3),
        width integer,
        height integer,
        variants jsonb NOT NULL DEFAULT '{}',
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX media_created_at_idx ON media (organization_id, created_at, id)');
    await queryRunner.query('CREATE INDEX media_type_idx ON media (organization_id, type, created_at, id)');
    await queryRunner.query('CREATE INDEX media_uploader_idx ON media (organization_id, uploaded_by, created_at, id)');
    await queryRunner.query(
      'CREATE INDEX media_department_idx ON media (organization_id, department_id, created_at, id)',
    );
    // DELETE /media/:id asks whether a live post uses the media as its cover.
    await queryRunner.query(
      'CREATE INDEX posts_cover_media_idx ON posts (organization_id, cover_media_id) WHERE cover_media_id IS NOT NULL',
    );

    await queryRunner.query(`
      CREATE TABLE media_uploads (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        department_id uuid REFERENCES departments (id),
        created_by uuid REFERENCES users (id) ON DELETE SET NULL,
        object_key text NOT NULL UNIQUE,
        filename text NOT NULL CHECK (length(filename) BETWEEN 1 AND 255),
        declared_type text NOT NULL CHECK (declared_type IN ('jpg', 'png', 'gif', 'pdf', 'docx', 'xlsx', 'mp4')),
        max_bytes bigint NOT NULL CHECK (max_bytes > 0),
        expires_at timestamptz(3) NOT NULL,
        media_id uuid REFERENCES media (id) ON DELETE SET NULL,
        completed_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX media_uploads_expiry_idx ON media_uploads (expires_at) WHERE completed_at IS NULL',
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE media_uploads');
    await queryRunner.query('DROP INDEX posts_cover_media_idx');
    await queryRunner.query('DROP TABLE media');
  }
}
