import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Client } from 'pg';
import { DataSource } from 'typeorm';
import type { RawEnv } from '../../src/config/env-var';
import { PostPartitionsService } from '../../src/modules/posts/post-partitions.service';
import { PostSweepService } from '../../src/modules/posts/post-sweep.service';
import { POSTS_PARTITIONS_SCHEDULER, POSTS_SWEEP_SCHEDULER, publishJobId } from '../../src/modules/posts/posts.jobs';
import { registerOwner, type TestAccount } from '../helpers/auth';
import { spawnTs, type SpawnedProcess } from '../helpers/spawn-process';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import { inMs, insertScheduledPost, postsQueue, publishAudits, readPost, schedulerOf } from './scheduling-fixtures';

const base: RawEnv = {
  POSTS_SWEEP_INTERVAL_SECONDS: '3600',
  POSTS_JOB_LOCK_MS: '2000',
  POSTS_STALLED_INTERVAL_MS: '1000',
};
const prefixOf = (name: string): string => `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}${name}:`;

async function startWorkerProcess(env: RawEnv): Promise<SpawnedProcess> {
  const worker = spawnTs('src/worker.ts', env as Record<string, string>);
  await worker.waitForOutput(/worker started/);
  return worker;
}

async function stop(worker: SpawnedProcess | undefined): Promise<void> {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.child.kill('SIGTERM');
  await worker.exited;
}

describe('Scheduled publishing by the worker process', () => {
  describe('with the worker as its own process', () => {
    const env = { ...base, REDIS_KEY_PREFIX: prefixOf('posts-worker-process') };
    let api: NestFastifyApplication;
    let owner: TestAccount;
    let worker: SpawnedProcess | undefined;
    let rescuer: INestApplicationContext | undefined;
    let locker: Client | undefined;

    beforeAll(async () => {
      api = await createTestApp(env);
      owner = await registerOwner(api);
    });

    afterEach(async () => {
      await locker?.end();
      locker = undefined;
      await stop(worker);
      await rescuer?.close();
      rescuer = undefined;
    });

    afterAll(async () => {
      await api.close();
    });

    it('should publish a scheduled post once at its time', async () => {
      worker = await startWorkerProcess(env);
      const post = await insertScheduledPost(api, owner, inMs(1500));
      await schedulerOf(api).schedule(post);

      const row = await waitFor(
        async () => {
          const current = await readPost(api, post.id);
          return current.status === 'published' ? current : undefined;
        },
        { timeoutMs: 10_000, what: 'the worker process to publish the post' },
      );
      expect(row.publishedAt!.getTime()).toBeGreaterThanOrEqual(post.publishAt.getTime());
      expect(await publishAudits(api, post.id)).toEqual([
        { actorId: null, details: { via: 'schedule', scheduledVersion: 1 } },
      ]);
    }, 40_000);

    it('should publish once when the worker is killed mid-job and another recovers the stalled job', async () => {
      worker = await startWorkerProcess(env);
      const post = await insertScheduledPost(api, owner, inMs(300));
      // Hold the post's row so the worker's publish blocks inside its transaction.
      locker = new Client({ connectionString: process.env.DATABASE_URL });
      await locker.connect();
      await locker.query('BEGIN');
      await locker.query('SELECT 1 FROM posts WHERE id = $1 FOR UPDATE', [post.id]);
      await schedulerOf(api).schedule(post);
      const jobId = publishJobId(post.id, 1);
      const queue = postsQueue(api);
      await waitFor(async () => ((await queue.getJobState(jobId)) === 'active' ? true : undefined), {
        what: 'the job to be running',
      });

      worker.child.kill('SIGKILL');
      await worker.exited;
      // The killed worker's transaction never committed: releasing the row lets it (if still around) fail alone.
      await locker.query('ROLLBACK');
      rescuer = await createTestWorker(env);

      await waitFor(async () => ((await readPost(api, post.id)).status === 'published' ? true : undefined), {
        timeoutMs: 15_000,
        what: 'the stalled job to be recovered and publish',
      });
      await waitFor(async () => ((await queue.getJobState(jobId)) === 'completed' ? true : undefined), {
        what: 'the recovered job to complete',
      });
      // Recovered by BullMQ's stalled check, not failed and retried.
      expect((await queue.getJob(jobId))?.stalledCounter).toBe(1);
      expect(await publishAudits(api, post.id)).toHaveLength(1);
    }, 60_000);
  });

  describe('sweep and partitions', () => {
    const env = { ...base, REDIS_KEY_PREFIX: prefixOf('posts-sweep'), POSTS_SWEEP_INTERVAL_SECONDS: '1' };
    let api: NestFastifyApplication;
    let owner: TestAccount;
    let worker: INestApplicationContext | undefined;

    beforeAll(async () => {
      api = await createTestApp(env);
      owner = await registerOwner(api);
    });

    afterAll(async () => {
      await worker?.close();
      await api.close();
    });

    it('should publish a post whose job was lost once its time has passed', async () => {
      const post = await insertScheduledPost(api, owner, inMs(500));
      const queue = postsQueue(api);
      await schedulerOf(api).schedule(post);
      // As after a Redis flush: the job is gone.
      await queue.remove(publishJobId(post.id, 1));
      expect(await queue.getJob(publishJobId(post.id, 1))).toBeUndefined();

      worker = await createTestWorker(env);
      const row = await waitFor(
        async () => {
          const current = await readPost(api, post.id);
          return current.status === 'published' ? current : undefined;
        },
        { timeoutMs: 8000, what: 'the sweep to publish the post' },
      );
      expect(row.publishedAt!.getTime()).toBeGreaterThanOrEqual(post.publishAt.getTime());
      expect(await publishAudits(api, post.id)).toEqual([
        { actorId: null, details: { via: 'sweep', scheduledVersion: 1 } },
      ]);
    });

    it('should register the sweep and partition job schedulers when the worker starts', async () => {
      worker ??= await createTestWorker(env);
      const queue = postsQueue(api);
      const schedulers = await waitFor(
        async () => {
          const found = await queue.getJobSchedulers();
          return found.length >= 2 ? found : undefined;
        },
        { what: 'the posts job schedulers' },
      );
      expect(Object.fromEntries(schedulers.map((s) => [s.key, s.every]))).toEqual({
        [POSTS_SWEEP_SCHEDULER]: 1000,
        [POSTS_PARTITIONS_SCHEDULER]: 6 * 3600 * 1000,
      });
    });

    it('should leave posts not yet due, unscheduled or deleted to themselves when sweeping', async () => {
      const future = await insertScheduledPost(api, owner, inMs(60_000));
      const deleted = await insertScheduledPost(api, owner, inMs(-1000));
      await api.get(DataSource).query('UPDATE posts SET deleted_at = now() WHERE id = $1', [deleted.id]);
      worker ??= await createTestWorker(env);

      await worker.get(PostSweepService).sweep();
      expect((await readPost(api, future.id)).status).toBe('scheduled');
      expect((await readPost(api, deleted.id)).status).toBe('scheduled');
      expect(await publishAudits(api, deleted.id)).toEqual([]);
    });

    it('should keep the quarterly posts partitions created ahead, idempotently', async () => {
      worker ??= await createTestWorker(env);
      const db = api.get(DataSource);
      await worker.get(PostPartitionsService).maintain();
      const [again] = await Promise.all([
        worker.get(PostPartitionsService).maintain(),
        worker.get(PostPartitionsService).maintain(),
      ]);
      expect(again.created).toBe(0);
      const names = (
        await db.query<{ name: string }[]>(
          "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'posts'::regclass",
        )
      ).map((r) => r.name);
      const quarter = (offset: number): string => {
        const now = new Date();
        const q = Math.floor(now.getUTCMonth() / 3) + offset;
        const year = now.getUTCFullYear() + Math.floor(q / 4);
        return `posts_${year}_q${(q % 4) + 1}`;
      };
      expect(names).toEqual(expect.arrayContaining([quarter(0), quarter(1), quarter(2)]));
      expect(names).not.toContain('posts_default');
    });
  });
});
