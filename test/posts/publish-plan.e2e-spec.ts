import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource, type QueryRunner } from 'typeorm';
import { PUBLISH_DUE_POST_SQL } from '../../src/modules/posts/post-publisher';
import { registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { insertScheduledPost, readPost } from './scheduling-fixtures';

/*
 * The worker's publish statement after a burst of scheduling: statistics taken while no post was scheduled,
 * then thousands of posts scheduled in one partition (the bench: 10,000 due within a minute). With a status
 * condition on the updated table, the planner chose posts_due_idx and filtered every scheduled post of the
 * partition for each publish (5 ms per publish at 10,000, publishing fell behind); the statement must find its
 * row by the primary key whatever the statistics say. Everything happens in one transaction that is rolled
 * back, statistics included, so no other spec sees these posts.
 */
const SCHEDULED = 2000;

describe('Publishing a due post: its plan', () => {
  let app: NestFastifyApplication;
  let owner: TestAccount;
  let runner: QueryRunner;
  let due: Array<{ id: string; createdAt: Date }>;
  let post: { id: string; createdAt: Date };

  beforeAll(async () => {
    app = await createTestApp();
    owner = await registerOwner(app, 'publish-plan');
    runner = app.get(DataSource).createQueryRunner();
    await runner.connect();
    await runner.startTransaction();
    // Statistics as they are before the burst: none of the posts below is scheduled yet.
    await runner.manager.query('ANALYZE posts');
    due = await runner.manager.query<{ id: string; createdAt: Date }[]>(
      `INSERT INTO posts (id, created_at, organization_id, author_id, title, slug, status, publish_at, version)
       SELECT gen_random_uuid(), now(), $1, $2, 'Due ' || n, 'publish-plan-' || n, 'scheduled',
              now() + n * interval '6 ms', 1
         FROM generate_series(1, $3::int) AS n
       RETURNING id, created_at AS "createdAt"`,
      [owner.organizationId, owner.userId, SCHEDULED],
    );
    post = due[Math.floor(SCHEDULED / 2)];
  });

  afterAll(async () => {
    await runner.rollbackTransaction();
    await runner.release();
    await app.close();
  });

  const explain = async (version: number | null): Promise<string> => {
    const plan = await runner.manager.query<{ 'QUERY PLAN': string }[]>(`EXPLAIN ${PUBLISH_DUE_POST_SQL}`, [
      post.id,
      post.createdAt,
      version,
    ]);
    return plan.map((row) => row['QUERY PLAN']).join('\n');
  };

  it('should find the row by its primary key in one partition, never by scanning the due posts', async () => {
    for (const version of [null, 1]) {
      const plan = await explain(version);
      expect(plan).not.toMatch(/publish_at_idx|due_idx|Seq Scan/);
      // The locking read and the updated row: both by the primary key of the post's partition only.
      const scans = plan.match(/Index Scan using (posts_\w+) on (posts_\w+)/g) ?? [];
      expect(scans).toHaveLength(2);
      expect(new Set(scans.map((scan) => scan.split(' on ')[1])).size).toBe(1);
      for (const scan of scans) expect(scan).toMatch(/_pkey on /);
    }
  });

  it('should publish the post once: a second run, or one for another version, updates nothing', async () => {
    expect(await runner.manager.query(PUBLISH_DUE_POST_SQL, [post.id, post.createdAt, 2])).toEqual([[], 0]);
    const [published, count] = await runner.manager.query<[Array<{ id: string; version: number }>, number]>(
      PUBLISH_DUE_POST_SQL,
      [post.id, post.createdAt, 1],
    );
    expect(count).toBe(1);
    expect(published).toEqual([
      expect.objectContaining({ id: post.id, organizationId: owner.organizationId, version: 2 }),
    ]);
    expect(await runner.manager.query(PUBLISH_DUE_POST_SQL, [post.id, post.createdAt, null])).toEqual([[], 0]);
    const [row] = await runner.manager.query<{ status: string; version: number }[]>(
      'SELECT status, version FROM posts WHERE id = $1 AND created_at = $2',
      [post.id, post.createdAt],
    );
    expect(row).toEqual({ status: 'published', version: 2 });
  });

  it('should not publish a deleted post', async () => {
    const [other] = due;
    await runner.manager.query('UPDATE posts SET deleted_at = now() WHERE id = $1 AND created_at = $2', [
      other.id,
      other.createdAt,
    ]);
    expect(await runner.manager.query(PUBLISH_DUE_POST_SQL, [other.id, other.createdAt, null])).toEqual([[], 0]);
  });

  it('should let only the first of two concurrent publishers update the post', async () => {
    const scheduled = await insertScheduledPost(app, owner, new Date());
    const params = [scheduled.id, scheduled.createdAt, null];
    const [first, second] = [app.get(DataSource).createQueryRunner(), app.get(DataSource).createQueryRunner()];
    try {
      const [{ pid }] = await second.manager.query<{ pid: number }[]>('SELECT pg_backend_pid() AS pid');
      await first.startTransaction();
      await second.startTransaction();
      expect((await first.manager.query(PUBLISH_DUE_POST_SQL, params))[1]).toBe(1);
      const late = second.manager.query(PUBLISH_DUE_POST_SQL, params);
      // The second statement waits on the first's row lock, then reads the row as the first committed it.
      await waitFor(async () => {
        const waiting = await app
          .get(DataSource)
          .query<unknown[]>("SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND wait_event_type = 'Lock'", [pid]);
        return waiting.length > 0 ? true : undefined;
      });
      await first.commitTransaction();
      expect(await late).toEqual([[], 0]);
      await second.commitTransaction();
    } finally {
      await first.release();
      await second.release();
    }
    expect((await readPost(app, scheduled.id)).version).toBe(2);
  });
});
