import { getQueueToken } from '@nestjs/bullmq';
import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import type { KeysetPageOptions } from '../../src/core/pagination/keyset';
import { QueueName } from '../../src/core/queue/queue-names';
import { AUDIT_LOG_LIST, AuditLogRepository, type AuditLogFilter } from '../../src/modules/audit/audit-log.repository';
import { AuditPartitionsService } from '../../src/modules/audit/audit-partitions.service';
import { AUDIT_PARTITIONS_EVERY_MS, AUDIT_PARTITIONS_SCHEDULER } from '../../src/modules/audit/audit.jobs';
import { insertAuditEntries, monthStart, partitionOf } from '../helpers/audit-fixtures';
import { bearer, registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';

interface PartitionsBody {
  partitions: {
    name: string;
    isDefault: boolean;
    from: string | null;
    to: string | null;
    estimatedRows: number | null;
  }[];
  defaultPartitionRows: number;
}

type PlanNode = { 'Relation Name'?: string; Plans?: PlanNode[] };

/** Every table a plan reads. */
function relationsOf(node: PlanNode): string[] {
  return [...(node['Relation Name'] ? [node['Relation Name']] : []), ...(node.Plans ?? []).flatMap(relationsOf)];
}

const DAY = 86_400_000;

/** Queues of this spec's own: spec files run in parallel, and no other file's worker may take its jobs. */
const OWN_QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}audit-partitions:` };
describe('Audit log partitions', () => {
  let app: NestFastifyApplication;
  let worker: INestApplicationContext | undefined;
  let db: DataSource;
  let owner: TestAccount;

  beforeAll(async () => {
    app = await createTestApp({ METRICS_ENABLED: 'true', ...OWN_QUEUES });
    db = app.get(DataSource);
    owner = await registerOwner(app, 'partitions');
  });

  afterAll(async () => {
    await worker?.close();
    await app.close();
  });

  const exists = async (name: string) =>
    (await db.query<{ found: boolean }[]>('SELECT to_regclass($1) IS NOT NULL AS found', [name]))[0].found;

  it('should create months ahead and drop months past retention when the worker runs the job', async () => {
    const old = 'audit_logs_2020_01';
    const ahead = partitionOf(monthStart(3));
    await db.query(`CREATE TABLE ${old} PARTITION OF audit_logs FOR VALUES FROM ('2020-01-01') TO ('2020-02-01')`);
    // The last month the default keeps ahead (3): nothing writes there, so the job must create it again.
    await db.query(`DROP TABLE ${ahead}`);

    worker = await createTestWorker(OWN_QUEUES);
    const scheduler = await waitFor(
      () =>
        app
          .get<Queue>(getQueueToken(QueueName.Audit))
          .getJobScheduler(AUDIT_PARTITIONS_SCHEDULER)
          .then((s) => s ?? undefined),
      { what: 'the audit-partitions job scheduler' },
    );
    expect(Number(scheduler.every)).toBe(AUDIT_PARTITIONS_EVERY_MS);
    // The scheduler's first run may already have happened in another spec's worker; run the job once more.
    await app.get<Queue>(getQueueToken(QueueName.Audit)).add('maintain-partitions', { payload: {}, requestId: null });

    await waitFor(async () => ((await exists(ahead)) && !(await exists(old)) ? true : undefined), {
      what: `${ahead} created and ${old} dropped`,
      timeoutMs: 20000,
    });
  });

  it('should keep no default partition and create the month of an entry dated outside every partition', async () => {
    expect(await exists('audit_logs_default')).toBe(false);
    // 2019 is years behind the months kept ahead: the fixture creates its month, as a restore or import must.
    const [row] = await insertAuditEntries(db, owner.organizationId, [
      { occurredAt: new Date('2019-06-15T12:00:00Z') },
    ]);
    const [located] = await db.query<{ partition: string }[]>(
      'SELECT tableoid::regclass::text AS partition FROM audit_logs WHERE id = $1',
      [row.id],
    );
    expect(located.partition).toBe('audit_logs_2019_06');

    const res = await app.inject({ url: '/api/v1/audit-logs/partitions', headers: bearer(owner.accessToken) });
    expect(res.statusCode).toBe(200);
    const body = res.json<PartitionsBody>();
    expect(body.defaultPartitionRows).toBe(0);
    expect(body.partitions.filter((p) => p.isDefault)).toEqual([]);
    const current = monthStart(0);
    expect(body.partitions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          name: partitionOf(current),
          isDefault: false,
          from: current.toISOString(),
          to: monthStart(1).toISOString(),
        }),
      ]),
    );

    const maintained = await app.get(AuditPartitionsService).maintain();
    expect(maintained.defaultPartitionRows).toBe(0);

    const metrics = await app.inject('/metrics');
    const gauge = /^audit_default_partition_rows (\d+)$/m.exec(metrics.body);
    expect(Number(gauge?.[1])).toBe(0);
  });

  it('should fail loudly instead of hiding an entry whose month has no partition', async () => {
    await expect(
      db.query(
        `INSERT INTO audit_logs (id, occurred_at, action, outcome, chain_key) VALUES (gen_random_uuid(), '1990-01-01', 'x', 'success', 'global')`,
      ),
    ).rejects.toThrow(/no partition of relation "audit_logs" found for row/);
  });

  it('should create the months ahead when the API starts', async () => {
    const ahead = partitionOf(monthStart(3));
    await db.query(`DROP TABLE IF EXISTS ${ahead}`);
    const other = await createTestApp(OWN_QUEUES);
    try {
      await waitFor(async () => ((await exists(ahead)) ? true : undefined), { what: `${ahead} created at start` });
    } finally {
      await other.close();
    }
  });

  describe('partition pruning', () => {
    const explain = async (filter: AuditLogFilter, after?: KeysetPageOptions['after']): Promise<string[]> => {
      const page: KeysetPageOptions = {
        sort: AUDIT_LOG_LIST.sorts[0],
        direction: 'desc',
        limit: 20,
        idColumn: 'a.id',
        after,
      };
      const { text, values } = app.get(AuditLogRepository).listStatement(owner.organizationId, filter, page);
      const [{ 'QUERY PLAN': plan }] = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (FORMAT JSON) ${text}`,
        values,
      );
      // The audit_logs partitions it reads; each entry's link (audit_chain_links) is joined by entry id.
      return [...new Set(relationsOf(plan[0].Plan))].filter((relation) => relation.startsWith('audit_logs'));
    };

    it('should read only that month partition when the list is bounded by one day', async () => {
      const day = new Date(monthStart(2).getTime() + 14 * DAY);
      const month = partitionOf(day);
      expect(await explain({ from: day, to: new Date(day.getTime() + DAY) })).toEqual([month]);
      expect(await explain({ from: day, to: new Date(day.getTime() + DAY), action: 'customers.update' })).toEqual([
        month,
      ]);
      expect(
        await explain(
          { from: day, to: new Date(day.getTime() + DAY) },
          { value: new Date(day.getTime() + 3600_000), id: owner.userId },
        ),
      ).toEqual([month]);
    });

    it('should read exactly the months a range spans', async () => {
      const from = new Date(monthStart(1).getTime() + 20 * DAY);
      const to = new Date(monthStart(2).getTime() + 5 * DAY);
      expect((await explain({ from, to })).sort()).toEqual([partitionOf(from), partitionOf(to)].sort());
    });
  });
});
