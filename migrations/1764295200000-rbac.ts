import type { MigrationInterface, QueryRunner } from 'typeorm';

const SYSTEM_ROLES: Record<string, string[]> = {
  owner: ['*:*'],
  admin: [
    'users:*',
    'customers:*',
    'posts:*',
    'media:*',
    'audit:read',
    'roles:*',
    'departments:*',
    'organizations:read',
    'organizations:update',
  ],
  manager: ['customers:*', 'posts:*', 'media:*', 'users:read', 'departments:read', 'audit:read', 'roles:read'],
  agent: [
    'customers:read',
    'customers:create',
    'customers:update',
    'posts:read',
    'posts:create',
    'posts:update',
    'media:read',
    'media:create',
    'departments:read',
    'users:read',
  ],
  viewer: ['*:read'],
};

export class Rbac1764295200000 implements MigrationInterface {
  name = 'Rbac1764295200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    // path: the ids from the root down, '/<root>/<child>/…/<self>/', so a subtree is one prefix match.
    await queryRunner.query(`
      CREATE TABLE departments (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        parent_id uuid REFERENCES departments (id),
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
        path text NOT NULL,
        depth integer NOT NULL,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE UNIQUE INDEX departments_sibling_name_idx ON departments (organization_id, parent_id, lower(name)) NULLS NOT DISTINCT',
    );
    await queryRunner.query(
      'CREATE INDEX departments_path_idx ON departments (organization_id, path text_pattern_ops)',
    );
    await queryRunner.query('CREATE INDEX departments_parent_idx ON departments (parent_id)');
    await queryRunner.query(`
      CREATE TABLE roles (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
        description text NOT NULL DEFAULT '',
        system_key text CHECK (system_key IN ('owner', 'admin', 'manager', 'agent', 'viewer')),
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query('CREATE UNIQUE INDEX roles_name_idx ON roles (organization_id, lower(name))');
    await queryRunner.query(
      'CREATE UNIQUE INDEX roles_system_key_idx ON roles (organization_id, system_key) WHERE system_key IS NOT NULL',
    );
    await queryRunner.query(`
      CREATE TABLE role_permissions (
        role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        permission text NOT NULL CHECK (permission ~ '^([a-z]+|\\*):([a-z]+|\\*)$'),
        PRIMARY KEY (role_id, permission)
      )`);
    await queryRunner.query(`
      CREATE TABLE role_assignments (
        id uuid PRIMARY KEY,
        organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
        user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
        role_id uuid NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
        department_id uuid REFERENCES departments (id),
        created_by uuid,
        created_at timestamptz(3) NOT NULL DEFAULT now()
      )`);
    await queryRunner.query(
      'CREATE UNIQUE INDEX role_assignments_unique_idx ON role_assignments (user_id, role_id, department_id) NULLS NOT DISTINCT',
    );
    await queryRunner.query('CREATE INDEX role_assignments_role_idx ON role_assignments (role_id)');
    await queryRunner.query(
      'CREATE INDEX role_assignments_department_idx ON role_assignments (department_id) WHERE department_id IS NOT NULL',
    );
    await queryRunner.query('ALTER TABLE users ADD COLUMN department_id uuid REFERENCES departments (id)');
    await queryRunner.query(
      'CREATE INDEX users_department_idx ON users (department_id) WHERE department_id IS NOT NULL',
    );

    // Organizations that exist already get the system roles, and their owner the owner role.
    for (const [key, permissions] of Object.entries(SYSTEM_ROLES)) {
      await queryRunner.query(
        `INSERT INTO roles (id, organization_id, name, description, system_key)
         SELECT gen_random_uuid(), o.id, $1, $2, $3 FROM organizations o`,
        [key.charAt(0).toUpperCase() + key.slice(1), `System role: ${key}`, key],
      );
      await queryRunner.query(
        `INSERT INTO role_permissions (role_id, permission)
         SELECT r.id, p FROM roles r, unnest($1::text[]) p WHERE r.system_key = $2`,
        [permissions, key],
      );
    }
    await queryRunner.query(`
      INSERT INTO role_assignments (id, organization_id, user_id, role_id)
      SELECT gen_random_uuid(), o.id, o.owner_id, r.id
      FROM organizations o JOIN roles r ON r.organization_id = o.id AND r.system_key = 'owner'
      WHERE o.owner_id IS NOT NULL`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('ALTER TABLE users DROP COLUMN department_id');
    await queryRunner.query('DROP TABLE role_assignments');
    await queryRunner.query('DROP TABLE role_permissions');
    await queryRunner.query('DROP TABLE roles');
    await queryRunner.query('DROP TABLE departments');
  }
}
