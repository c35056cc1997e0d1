import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * posts: RANGE-partitioned by created_at, one partition per quarter. created_at is the time carried by the
 * post's UUIDv7 id (set together at insert, never changed), so a lookup by id also knows its partition
 * (`id = $1 AND created_at = <time of id>` prunes to one). PostgreSQL cannot enforce a unique index across
 * partitions unless it contains the partition key, so slug uniqueness per organization lives in the small
 * unpartitioned post_slugs table, which also serves lookups by slug.
 */
export class Posts1764640800000 implements MigrationInterface {
  name = 'Posts1764640800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE posts (
        id uuid NOT NULL,
        created_at timestamptz(3) NOT NULL,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        department_id uuid REFERENCES departments (id),
        author_id uuid REFERENCES users (id) ON DELETE SET NULL,
        cover_media_id uuid,
        title text NOT NULL CHECK (length(title) BETWEEN 1 AND 300),
        slug text NOT NULL CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 200),
        body text NOT NULL DEFAULT '',
        excerpt text,
        status text NOT NULL CHECK (status IN ('draft', 'scheduled', 'published', 'archived')),
        publish_at timestamptz(3),
        published_at timestamptz(3),
        tags text[] NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1,
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        deleted_at timestamptz(3),
        PRIMARY KEY (id, created_at)
      ) PARTITION BY RANGE (created_at)`);
    await queryRunner.query('CREATE TABLE posts_default PARTITION OF posts DEFAULT');
    await queryRunner.query(
      'CREATE INDEX posts_org_created_idx ON posts (organization_id, created_at, id) WHERE deleted_at IS NULL',
    );
    await queryRunner.query(
      'CREATE INDEX posts_org_published_idx ON posts (organization_id, published_at, id) WHERE deleted_at IS NULL AND published_at IS NOT NULL',
    );
    await queryRunner.query(
      'CREATE INDEX posts_org_title_idx ON posts (organization_id, title, id) WHERE deleted_at IS NULL',
    );
    await queryRunner.query(
      'CREATE INDEX posts_org_status_idx ON posts (organization_id, status, created_at, id) WHERE deleted_at IS NULL',
    );
    await queryRunner.query(
      "CREATE INDEX posts_due_idx ON posts (publish_at) WHERE status = 'scheduled' AND deleted_at IS NULL",
    );
    await queryRunner.query('CREATE INDEX posts_tags_idx ON posts USING gin (tags) WHERE deleted_at IS NULL');
    await queryRunner.query(`
      CREATE TABLE post_slugs (
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        slug text NOT NULL,
        post_id uuid NOT NULL,
        post_created_at timestamptz(3) NOT NULL,
        PRIMARY KEY (organization_id, slug)
      )`);
    await queryRunner.query('CREATE UNIQUE INDEX post_slugs_post_idx ON post_slugs (post_id)');
    await queryRunner.query(`
      CREATE FUNCTION posts_ensure_partitions(quarters_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
      DECLARE
        quarter date := date_trunc('quarter', now())::date;
        last date := (date_trunc('quarter', now()) + make_interval(months => 3 * quarters_ahead))::date;
        created integer := 0;
        name text;
      BEGIN
        WHILE quarter <= last LOOP
          name := 'posts_' || to_char(quarter, 'YYYY') || '_q' || to_char(quarter, 'Q');
          IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF posts FOR VALUES FROM (%L) TO (%L)',
                           name, quarter, (quarter + interval '3 months')::date);
            created := created + 1;
          END IF;
          quarter := (quarter + interval '3 months')::date;
        END LOOP;
        RETURN created;
      END $$`);
    await queryRunner.query('SELECT posts_ensure_partitions(2)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP FUNCTION posts_ensure_partitions(integer)');
    await queryRunner.query('DROP TABLE post_slugs');
    await queryRunner.query('DROP TABLE posts');
  }
}
