import { Redis } from 'ioredis';
import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { ADMIN_DATABASE_URL } from './test-env';

export default async function globalTeardown(): Promise<void> {
  if (process.env.TEST_KEY_DIR?.includes('atrium-test-keys-'))
    rmSync(process.env.TEST_KEY_DIR, { recursive: true, force: true });
  const database = process.env.TEST_DATABASE;
  const prefix = process.env.REDIS_KEY_PREFIX;
  if (database?.startsWith('atrium_test_')) {
    const admin = new Client({ connectionString: ADMIN_DATABASE_URL });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`);
    await admin.end();
  }
  if (prefix?.startsWith('atrium-test-')) {
    const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
    await redis.quit();
  }
}
