import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp } from '../helpers/test-app';
import { insertScheduledPost } from './scheduling-fixtures';

type PlanNode = {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Loops'?: number;
  Plans?: PlanNode[];
};

function nodesOf(node: PlanNode): PlanNode[] {
  return [node, ...(node.Plans ?? []).flatMap(nodesOf)];
}

/** posts_YYYY_qN of the quarter `offset` quarters from the current one (UTC, like the partitions). */
function quarterOf(offset: number): string {
  const now = new Date();
  const q = now.getUTCFullYear() * 4 + Math.floor(now.getUTCMonth() / 3) + offset;
  return `posts_${Math.floor(q / 4)}_q${(q % 4) + 1}`;
}

describe('Posts partitions and the post list', () => {
  let app: NestFastifyApplication;
  let db: DataSource;
  let owner: TestAccount;

  beforeAll(async () => {
    app = await createTestApp();
    db = app.get(DataSource);
    owner = await registerOwner(app, 'post-partitions');
    // Four older quarters, as a database a year old has them.
    await db.query(
      'SELECT posts_ensure_partition_for(now() - make_interval(months => 3 * i)) FROM generate_series(1, 4) AS i',
    );
    for (let i = 0; i < 30; i++) await insertScheduledPost(app, owner, new Date(Date.now() + 3600_000));
  });

  afterAll(async () => {
    await app.close();
  });

  it('should have no default partition', async () => {
    const [row] = await db.query<{ found: boolean }[]>("SELECT to_regclass('posts_default') IS NOT NULL AS found");
    expect(row.found).toBe(false);
  });

  it('should read only the newest partition for the first page of the post list', async () => {
    const plan = await db.transaction(async (m) => {
      // The test tables are tiny: without these the planner would rather sort a sequential scan. The bench
      // dataset gets this plan on its own (bench/plans/posts-list.txt).
      await m.query('SET LOCAL enable_seqscan = off');
      await m.query('SET LOCAL enable_bitmapscan = off');
      const [{ 'QUERY PLAN': json }] = await m.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON)
         SELECT p.id FROM posts p
          WHERE p.organization_id = $1 AND p.deleted_at IS NULL
          ORDER BY p.created_at DESC, p.id DESC LIMIT 21`,
        [owner.organizationId],
      );
      return json[0].Plan;
    });
    const nodes = nodesOf(plan);
    // An ordered Append (newest partition first) instead of a Merge Append over all of them.
    expect(nodes.map((n) => n['Node Type'])).toContain('Append');
    expect(nodes.map((n) => n['Node Type'])).not.toContain('Merge Append');
    const scanned = nodes.filter((n) => n['Relation Name'] && (n['Actual Loops'] ?? 0) > 0);
    const planned = nodes.filter((n) => n['Relation Name']).map((n) => n['Relation Name']);
    // The quarters kept ahead (empty) come first, then the current one fills the page: the older quarters are
    // in the plan but "never executed".
    expect(scanned.map((n) => n['Relation Name'])).toContain(quarterOf(0));
    const older = [-1, -2, -3, -4].map(quarterOf);
    expect(planned).toEqual(expect.arrayContaining(older));
    expect(scanned.map((n) => n['Relation Name'])).toEqual(expect.not.arrayContaining([older[0]]));
    for (const quarter of older) expect(scanned.map((n) => n['Relation Name'])).not.toContain(quarter);
  });
});
