import type { MigrationInterface, QueryRunner } from 'typeorm';

export class Identity1764208800000 implements MigrationInterface {
  name = 'Identity1764208800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE EXTENSION IF NOT EXISTS citext');
    await queryRunner.query(`
      CREATE TABLE organizations (
        id uuid PRIMARY KEY,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
        owner_id uuid,
        require_two_factor boolean NOT NULL DEFAULT false,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    // Email is unique across organizations: login takes only email + password.
    await queryRunner.query(`
      CREATE TABLE users (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        email citext NOT NULL UNIQUE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        status text NOT NULL CHECK (status IN ('invited', 'active', 'disabled')),
        password_hash text,
        email_verified_at timestamptz(3),
        totp_secret text,
        totp_enabled_at timestamptz(3),
        totp_last_step bigint,
        failed_login_count integer NOT NULL DEFAULT 0,
        lockout_count integer NOT NULL DEFAULT 0,
        locked_until timestamptz(3),
        version integer NOT NULL DEFAULT 1,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX users_organization_created_idx ON users (organization_id, created_at, id)');
    await queryRunner.query(
      'ALTER TABLE organizations ADD CONSTRAINT organizations_owner_fk FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE SET NULL DEFERRABLE INITIALLY DEFERRED',
    );
    await queryRunner.query(`
      CREATE TABLE recovery_codes (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        code_hash text NOT NULL,
        used_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE INDEX recovery_codes_user_idx ON recovery_codes (user_id)');
    await queryRunner.query(`
      CREATE TABLE sessions (
        id uuid PRIMARY KEY,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        ip text,
        user_agent text,
        device text,
        mfa_setup_required boolean NOT NULL DEFAULT false,
        step_up_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        last_used_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        revoked_at timestamptz(3),
        revoked_reason text
      )`);
    await queryRunner.query(
      'CREATE INDEX sessions_user_active_idx ON sessions (user_id, created_at) WHERE revoked_at IS NULL',
    );
    // successor_sealed: the pair issued when this token was rotated, encrypted, so a racing second refresh
    // inside the grace window gets the same pair instead of tripping reuse detection.
    await queryRunner.query(`
      CREATE TABLE refresh_tokens (
        id uuid PRIMARY KEY,
        session_id uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
        token_hash text NOT NULL UNIQUE,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        expires_at timestamptz(3) NOT NULL,
        rotated_at timestamptz(3),
        successor_sealed text
      )`);
    await queryRunner.query('CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id)');
    // One live code per (email, purpose): a new request replaces the previous code.
    await queryRunner.query(`
      CREATE TABLE email_otps (
        id uuid PRIMARY KEY,
        email citext NOT NULL,
        purpose text NOT NULL CHECK (purpose IN ('login', 'verify_email', 'reset_password')),
        code_hash text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        expires_at timestamptz(3) NOT NULL,
        consumed_at timestamptz(3),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        UNIQUE (email, purpose)
      )`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE email_otps');
    await queryRunner.query('DROP TABLE refresh_tokens');
    await queryRunner.query('DROP TABLE sessions');
    await queryRunner.query('DROP TABLE recovery_codes');
    await queryRunner.query('ALTER TABLE organizations DROP CONSTRAINT organizations_owner_fk');
    await queryRunner.query('DROP TABLE users');
    await queryRunner.query('DROP TABLE organizations');
  }
}
