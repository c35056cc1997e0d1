import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { RawEnv } from '../../src/config/env-var';
import { DataSource } from 'typeorm';
import { TransactionRunner } from '../../src/core/database/transaction.runner';
import { REDIS } from '../../src/core/redis/redis.module';
import { PostScheduler } from '../../src/modules/posts/post-scheduler';
import { publishJobId } from '../../src/modules/posts/posts.jobs';
import { PostsService } from '../../src/modules/posts/posts.service';
import { publicPostsVersionKey } from '../../src/modules/posts/public-posts.cache';
import { registerOwner, type TestAccount } from '../helpers/auth';
import { createTestApp, createTestWorker } from '../helpers/test-app';
import { waitFor } from '../helpers/wait-for';
import {
  changePost,
  inMs,
  insertScheduledPost,
  postsQueue,
  publishAudits,
  readPost,
  schedulerOf,
  type ScheduledPost,
} from './scheduling-fixtures';

// A prefix of this file's own: its workers, sweep interval and queue never meet other specs'.
const env: RawEnv = {
  REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}posts-scheduling:`,
  POSTS_SWEEP_INTERVAL_SECONDS: '3600',
  POSTS_JOB_LOCK_MS: '2000',
  POSTS_STALLED_INTERVAL_MS: '1000',
};

describe(PostScheduler.name, () => {
  let api: NestFastifyApplication;
  let workers: INestApplicationContext[];
  let scheduler: PostScheduler;
  let owner: TestAccount;

  beforeAll(async () => {
    api = await createTestApp(env);
    owner = await registerOwner(api);
    scheduler = schedulerOf(api);
    // Two workers at once throughout: every case below must still publish once.
    workers = [await createTestWorker(env), await createTestWorker(env)];
  });

  afterAll(async () => {
    await Promise.all(workers.map((worker) => worker.close()));
    await api.close();
  });

  const waitForPublished = (post: ScheduledPost, timeoutMs = 8000) =>
    waitFor(
      async () => {
        const row = await readPost(api, post.id);
        return row.status === 'published' ? row : undefined;
      },
      { timeoutMs, what: `post ${post.id} to be published` },
    );

  it('should publish a scheduled post once, at its time, when two workers run', async () => {
    const post = await insertScheduledPost(api, owner, inMs(3000));
    const versionKey = publicPostsVersionKey(env.REDIS_KEY_PREFIX!, owner.organizationId);
    const cacheVersion = Number(await api.get<Redis>(REDIS).get(versionKey));
    await scheduler.schedule(post);

    await sleep(1000);
    // Still waiting for its time. Only asked before that time: on a loaded machine the steps above can take
    // seconds, and then the post is rightly published already (publishedAt ≥ publishAt is checked below).
    const checkedAt = Date.now();
    const early = await readPost(api, post.id);
    if (checkedAt < post.publishAt.getTime()) expect(early.status).toBe('scheduled');
    const published = await waitForPublished(post);

    expect(published.publishedAt!.getTime()).toBeGreaterThanOrEqual(post.publishAt.getTime());
    expect(published.version).toBe(2);
    // The public cache of the organization was evicted (its version moved on).
    expect(Number(await api.get<Redis>(REDIS).get(versionKey))).toBeGreaterThan(cacheVersion);
    await sleep(500);
    expect(await publishAudits(api, post.id)).toEqual([
      { actorId: null, details: { via: 'schedule', scheduledVersion: 1 } },
    ]);
  });

  it('should publish once when the same post has duplicate jobs racing on two workers', async () => {
    const posts = await Promise.all(Array.from({ length: 10 }, () => insertScheduledPost(api, owner, inMs(800))));
    const queue = postsQueue(api);
    for (const post of posts) {
      await scheduler.schedule(post);
      // A duplicate of the job under another id, as a retry or a second enqueue would produce.
      const payload = { ...post, postId: post.id, createdAt: post.createdAt.toISOString() };
      await queue.add('publish', { payload, requestId: null }, { jobId: `dup-${post.id}`, delay: 800 });
    }

    await Promise.all(posts.map((post) => waitForPublished(post)));
    const jobIds = posts.flatMap((post) => [publishJobId(post.id, 1), `dup-${post.id}`]);
    await waitFor(
      async () => {
        const jobs = await Promise.all(jobIds.map((id) => queue.getJob(id)));
        return jobs.every((job) => job?.finishedOn) ? jobs : undefined;
      },
      { what: 'both jobs of every post to run' },
    );
    await sleep(500);
    for (const post of posts) expect(await publishAudits(api, post.id)).toHaveLength(1);
  });

  it('should publish once at the new time when rescheduled later or earlier', async () => {
    const later = await insertScheduledPost(api, owner, inMs(800));
    const earlier = await insertScheduledPost(api, owner, inMs(10_000));
    await scheduler.schedule(later);
    await scheduler.schedule(earlier);

    const laterAt = inMs(2500);
    const earlierAt = inMs(1000);
    await scheduler.schedule({
      ...later,
      publishAt: laterAt,
      version: await changePost(api, later, `publish_at = '${laterAt.toISOString()}'`),
    });
    await scheduler.schedule({
      ...earlier,
      publishAt: earlierAt,
      version: await changePost(api, earlier, `publish_at = '${earlierAt.toISOString()}'`),
    });

    await sleep(1500);
    expect((await readPost(api, later.id)).status).toBe('scheduled');
    const earlierRow = await waitForPublished(earlier, 3000);
    expect(earlierRow.publishedAt!.getTime()).toBeLessThan(later.publishAt.getTime() + 9000);
    const laterRow = await waitForPublished(later);
    expect(laterRow.publishedAt!.getTime()).toBeGreaterThanOrEqual(laterAt.getTime());
    expect(await publishAudits(api, later.id)).toHaveLength(1);
    expect(await publishAudits(api, earlier.id)).toHaveLength(1);
    // The superseded jobs are gone, not merely harmless.
    expect(await postsQueue(api).getJob(publishJobId(earlier.id, 1))).toBeUndefined();
  });

  it('should never publish an unscheduled post', async () => {
    const post = await insertScheduledPost(api, owner, inMs(800));
    await scheduler.schedule(post);
    await scheduler.cancel(post.id, await changePost(api, post, "status = 'draft', publish_at = NULL"));

    await sleep(2000);
    expect(await readPost(api, post.id)).toMatchObject({ status: 'draft', publishedAt: null });
    expect(await publishAudits(api, post.id)).toEqual([]);
    expect(await postsQueue(api).getJob(publishJobId(post.id, 1))).toBeUndefined();
  });

  it("should write the publish job to the outbox in the post's own transaction, and none on rollback", async () => {
    const post = await insertScheduledPost(api, owner, inMs(10 * 60_000));
    const caller = { id: owner.userId, organizationId: owner.organizationId, sessionId: 'test' };
    const rollback = new Error('rollback');
    const seenInside = api.get(TransactionRunner).run(async (m) => {
      await api.get(PostsService).schedule(caller, post.id, inMs(20 * 60_000));
      // Before the commit: a crash from here on would leave this row for the relay.
      const rows = await m.query<{ job_id: string }[]>('SELECT job_id FROM job_outbox WHERE job_id = $1', [
        publishJobId(post.id, 2),
      ]);
      expect(rows).toHaveLength(1);
      throw rollback;
    });
    await expect(seenInside).rejects.toBe(rollback);

    const left = await api
      .get(DataSource)
      .query('SELECT 1 FROM job_outbox WHERE job_id = $1', [publishJobId(post.id, 2)]);
    expect(left).toEqual([]);
    expect(await postsQueue(api).getJob(publishJobId(post.id, 2))).toBeUndefined();
    expect((await readPost(api, post.id)).version).toBe(1);
  });

  it("should keep the newer job when an older change's after-commit work runs last", async () => {
    const post = await insertScheduledPost(api, owner, inMs(10 * 60_000));
    const queue = postsQueue(api);
    await scheduler.schedule(post);
    const newer = { ...post, version: await changePost(api, post, "title = 'rescheduled'") };
    await scheduler.schedule(newer);
    expect(await queue.getJob(publishJobId(post.id, 1))).toBeUndefined();

    // Two changes' after-commit callbacks in the wrong order: an older unschedule's and an older schedule's.
    await scheduler.cancel(post.id, 1);
    await scheduler.schedule(post);

    expect(await queue.getJob(publishJobId(post.id, newer.version))).toBeDefined();
    // The pointer still names the newer job, so a later unschedule removes it.
    await scheduler.cancel(post.id, await changePost(api, post, "status = 'draft', publish_at = NULL"));
    expect(await queue.getJob(publishJobId(post.id, newer.version))).toBeUndefined();
  });

  it('should never publish a deleted post, even when its job still fires', async () => {
    const post = await insertScheduledPost(api, owner, inMs(800));
    await scheduler.schedule(post);
    // Deleted without cancelling: the job runs and must find nothing to publish.
    await changePost(api, post, 'deleted_at = now()');

    await waitFor(
      async () => ((await postsQueue(api).getJob(publishJobId(post.id, 1)))?.finishedOn ? true : undefined),
      { what: 'the stale job to run' },
    );
    expect(await readPost(api, post.id)).toMatchObject({ status: 'scheduled', publishedAt: null });
    expect(await publishAudits(api, post.id)).toEqual([]);
  });

  it('should do nothing when a stale job fires for a post whose version changed', async () => {
    // Due long after the stale job: only the version check can stop that job (the publisher does not look at
    // publish_at), and the sweep — whose hourly run BullMQ aligns to the clock — never finds the post overdue.
    const post = await insertScheduledPost(api, owner, inMs(10 * 60_000));
    const queue = postsQueue(api);
    await changePost(api, post, "title = 'edited'");
    // The old version's job, as if it had survived a reschedule.
    const payload = {
      postId: post.id,
      createdAt: post.createdAt.toISOString(),
      organizationId: post.organizationId,
      version: 1,
    };
    const job = await queue.add('publish', { payload, requestId: null }, { jobId: `stale-${post.id}`, delay: 600 });

    await waitFor(async () => ((await queue.getJob(job.id!))?.finishedOn ? true : undefined), { what: 'the job' });
    expect((await readPost(api, post.id)).status).toBe('scheduled');
    expect(await publishAudits(api, post.id)).toEqual([]);
  });
});
