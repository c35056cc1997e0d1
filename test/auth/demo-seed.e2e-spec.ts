import { Client } from 'pg';
import { ADMIN_DATABASE_URL, databaseUrlFor, newRunId } from '../setup/test-env';
import { createTestApp } from '../helpers/test-app';

describe('Demo seed', () => {
  const database = `atrium_test_seed_${newRunId()}`;

  beforeAll(async () => {
    const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE DATABASE "${database}"`);
    await admin.end();
  });

  afterAll(async () => {
    const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  });

  it('should migrate an empty database on start, seed a demo organization and owner once, and let the owner log in', async () => {
    const env = {
      DATABASE_URL: databaseUrlFor(database),
      DB_MIGRATE_ON_START: 'true',
      SEED_DEMO: 'true',
      DEMO_ORGANIZATION_NAME: 'Demo Co',
      DEMO_ADMIN_EMAIL: 'admin@demo.test',
      DEMO_ADMIN_PASSWORD: 'demo-Password-for-tests-1',
    };
    const app = await createTestApp(env);
    try {
      const login = await app.inject({
        method: 'POST',
        url: '/api/v1/auth/login',
        payload: { email: 'admin@demo.test', password: 'demo-Password-for-tests-1' },
      });
      expect(login.statusCode).toBe(200);
      const org = await app.inject({
        url: '/api/v1/organizations/current',
        headers: { authorization: `Bearer ${login.json<{ accessToken: string }>().accessToken}` },
      });
      expect(org.json()).toMatchObject({ name: 'Demo Co', slug: 'demo-co' });
    } finally {
      await app.close();
    }
    // A second start finds the organization and seeds nothing more.
    const again = await createTestApp(env);
    await again.close();
    const client = new Client({ connectionString: databaseUrlFor(database) });
    await client.connect();
    const { rows } = await client.query<{ count: number }>('SELECT count(*)::int AS count FROM organizations');
    await client.end();
    expect(rows[0].count).toBe(1);
  });
});
