import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { JobOutbox } from '../../core/queue/job-outbox';
import { QueueName } from '../../core/queue/queue-names';
import { REDIS } from '../../core/redis/redis.module';
import { RedisScript } from '../../core/redis/redis-script';
import { PostSchedulingPort } from './post-scheduling.port';
import { publishJobId, type PostsJobs } from './posts.jobs';

const POINTER_MARGIN_MS = 7 * 24 * 3600 * 1000;

/**
 * Moves a post's job pointer to version ARGV[2] unless it already names a newer version, and returns the job
 * it named before (to remove) — or, when it names a newer one, false. After-commit callbacks of two changes to
 * one post can run in either order; without the version check the older change's callback would remove the
 * newer change's job (left to the sweep). ARGV[1] is the new job id, or '' to only drop the pointer.
 */
const MOVE_POINTER = new RedisScript(`
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '-v(%d+)$'))
  if version and version > tonumber(ARGV[2]) then return false end
end
if ARGV[1] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3]) end
return current
`);

type SchedulablePost = Parameters<PostSchedulingPort['schedule']>[0];

/**
 * Schedules publishing as one delayed job per post on the `posts` queue, run by the worker app. The job id
 * carries the post's version (see publishJobId) and goes through the job outbox in the post's own
 * transaction, so a committed schedule cannot lose its job (a crash after the commit leaves the row for the
 * relay). A pointer key remembers the post's current job so that rescheduling and unscheduling can remove the
 * previous one after the commit. Removal is tidiness, not correctness: a job that survives (running at that
 * moment, or the pointer lost) finds the post's version changed and does nothing, and a job lost altogether
 * is caught by the sweep.
 */
@Injectable()
export class PostScheduler extends PostSchedulingPort {
  constructor(
    @InjectQueue(QueueName.Posts) private readonly queue: Queue,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
    private readonly outbox: JobOutbox,
    private readonly tx: TransactionRunner,
  ) {
    super();
  }

  async schedule(post: SchedulablePost): Promise<void> {
    const payload: PostsJobs['publish'] = {
      postId: post.id,
      createdAt: post.createdAt.toISOString(),
      organizationId: post.organizationId,
      version: post.version,
    };
    const delay = Math.max(0, post.publishAt.getTime() - Date.now());
    const jobId = await this.outbox.enqueue(this.queue, 'publish', payload, {
      jobId: publishJobId(post.id, post.version),
      delay,
    });
    // The pointer outlives the job by a margin; a pointer to a finished job is harmless (remove() is a no-op).
    await this.tx.afterCommit(() => this.movePointer(post.id, post.version, jobId, delay + POINTER_MARGIN_MS));
  }

  async cancel(postId: string, version: number): Promise<void> {
    await this.tx.afterCommit(() => this.movePointer(postId, version, '', 0));
  }

  private async movePointer(postId: string, version: number, jobId: string, ttlMs: number): Promise<void> {
    const previous = (await MOVE_POINTER.run(this.redis, [this.pointerKey(postId)], [jobId, version, ttlMs])) as
      string | null;
    // remove() refuses a job that is running (locked): that one will find the version changed.
    if (previous && previous !== jobId) await this.queue.remove(previous);
  }

  private pointerKey(postId: string): string {
    return `${this.config.redis.keyPrefix}posts:publish-job:${postId}`;
  }
}
