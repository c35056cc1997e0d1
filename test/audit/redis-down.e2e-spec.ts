import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { auditEntries, firstBrokenLink } from '../helpers/audit';
import { createTestApp } from '../helpers/test-app';

/*
 * Entries are written to PostgreSQL in the request, never through Redis or the queue: with Redis unreachable
 * (nothing listens on 6399) and no worker process at all, every successful mutation still has its entry.
 */
describe('Audit with Redis down and no worker', () => {
  let healthy: NestFastifyApplication;
  let degraded: NestFastifyApplication;
  let owner: TestAccount;

  beforeAll(async () => {
    healthy = await createTestApp();
    owner = await registerOwner(healthy, 'audit-redis-down');
    degraded = await createTestApp({ REDIS_URL: 'redis://127.0.0.1:6399' });
  }, 60000);

  afterAll(async () => {
    await degraded?.close();
    await healthy?.close();
  });

  it('should write an entry for every successful mutation while Redis is unreachable', async () => {
    const results = [];
    for (let i = 0; i < 5; i++) {
      const res = await degraded.inject({
        method: 'PATCH',
        url: '/api/v1/organizations/current',
        headers: bearer(owner.accessToken),
        payload: { name: `Renamed without Redis ${i}` },
      });
      results.push(res.statusCode);
    }
    const succeeded = results.filter((status) => status === 200).length;
    expect(succeeded).toBe(5);
    const chain = await auditEntries(healthy, owner.organizationId);
    const updates = chain.filter((entry) => entry.action === 'organizations.update');
    expect(updates).toHaveLength(succeeded);
    expect(updates.map((entry) => (entry.details?.request as { name: string }).name)).toEqual(
      Array.from({ length: 5 }, (_, i) => `Renamed without Redis ${i}`),
    );
    expect(firstBrokenLink(chain)).toBeNull();
  });
});
