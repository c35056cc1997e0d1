import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Customers (CRM core), their timeline, CSV imports, and the idempotency keys every create route can use.
 * Indexes follow the list queries: organization + sort key + id (keyset pagination in both directions),
 * filters that lead with organization, and a trigram index for `q` search over name, email, company, phone.
 */
export class Customers1764554400000 implements MigrationInterface {
  name = 'Customers1764554400000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE EXTENSION IF NOT EXISTS pg_trgm');
    await queryRunner.query(`
      CREATE TABLE customers (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        department_id uuid REFERENCES departments (id),
        owner_id uuid REFERENCES users (id) ON DELETE SET NULL,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        email citext CHECK (email IS NULL OR length(email) <= 254),
        phone text CHECK (phone IS NULL OR length(phone) <= 50),
        company text CHECK (company IS NULL OR length(company) <= 200),
        status text NOT NULL CHECK (status IN ('lead', 'prospect', 'active', 'churned')),
        tags text[] NOT NULL DEFAULT '{}',
        custom_fields jsonb NOT NULL DEFAULT '{}',
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now(),
        deleted_at timestamptz(3),
        search text GENERATED ALWAYS AS (
          lower(coalesce(name, '') || ' ' || coalesce(email::text, '') || ' ' || coalesce(company, '') || ' ' || coalesce(phone, ''))
        ) STORED
      )`);
    // Email unique per organization among customers that are not deleted.
    await queryRunner.query(
      'CREATE UNIQUE INDEX customers_email_idx ON customers (organization_id, email) WHERE deleted_at IS NULL AND email IS NOT NULL',
    );
    for (const column of ['created_at', 'updated_at', 'name']) {
      await queryRunner.query(
        `CREATE INDEX customers_${column}_idx ON customers (organization_id, ${column}, id) WHERE deleted_at IS NULL`,
      );
    }
    await queryRunner.query(
      'CREATE INDEX customers_status_idx ON customers (organization_id, status, created_at, id) WHERE deleted_at IS NULL',
    );
    await queryRunner.query(
      'CREATE INDEX customers_owner_idx ON customers (organization_id, owner_id, created_at, id) WHERE deleted_at IS NULL',
    );
    await queryRunner.query(
      'CREATE INDEX customers_department_idx ON customers (organization_id, department_id, created_at, id) WHERE deleted_at IS NULL',
    );
    await queryRunner.query('CREATE INDEX customers_tags_idx ON customers USING gin (tags) WHERE deleted_at IS NULL');
    await queryRunner.query(
      'CREATE INDEX customers_search_idx ON customers USING gin (search gin_trgm_ops) WHERE deleted_at IS NULL',
    );

    await queryRunner.query(`
      CREATE TABLE customer_activities (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        customer_id uuid NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
        author_id uuid REFERENCES users (id) ON DELETE SET NULL,
        type text NOT NULL CHECK (type IN ('call', 'email', 'meeting', 'note')),
        body text NOT NULL CHECK (length(body) BETWEEN 1 AND 10000),
        occurred_at timestamptz(3) NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE INDEX customer_activities_timeline_idx ON customer_activities (customer_id, occurred_at, id)',
    );

    await queryRunner.query(`
      CREATE TABLE customer_imports (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        created_by uuid REFERENCES users (id) ON DELETE SET NULL,
        department_id uuid REFERENCES departments (id),
        status text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
        total_rows integer NOT NULL DEFAULT 0,
        processed_rows integer NOT NULL DEFAULT 0,
        failed_rows integer NOT NULL DEFAULT 0,
        errors jsonb NOT NULL DEFAULT '[]',
        csv text NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        finished_at timestamptz(3)
      )`);

    // Idempotency-Key records (src/core/idempotency): one per (scope, key), expiring.
    await queryRunner.query(`
      CREATE TABLE idempotency_keys (
        scope text NOT NULL,
        key text NOT NULL,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('in_progress', 'completed')),
        response_status integer,
        response_body jsonb,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        PRIMARY KEY (scope, key)
      )`);
    await queryRunner.query('CREATE INDEX idempotency_keys_expiry_idx ON idempotency_keys (expires_at)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE idempotency_keys');
    await queryRunner.query('DROP TABLE customer_imports');
    await queryRunner.query('DROP TABLE customer_activities');
    await queryRunner.query('DROP TABLE customers');
  }
}
