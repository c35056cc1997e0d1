import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { AppConfig } from '../../config/app.config';
import { JobOutbox } from '../../core/queue/job-outbox';
import { QueueName } from '../../core/queue/queue-names';
import { REDIS } from '../../core/redis/redis.module';
import { PostSchedulingPort } from './post-scheduling.port';
import { publishJobId, type PostsJobs } from './posts.jobs';

const POINTER_MARGIN_MS = 7 * 24 * 3600 * 1000;

type SchedulablePost = Parameters<PostSchedulingPort['schedule']>[0];

/**
 * Schedules publishing as one delayed job per post on the `posts` queue, run by the worker app. The job id
 * carries the post's version (see publishJobId); a pointer key remembers the post's current job so that
 * rescheduling and unscheduling can remove it. Removal is tidiness, not correctness: a job that survives
 * (running at that moment, or the pointer lost) finds the post's version changed and does nothing, and a
 * job lost altogether is caught by the sweep.
 */
@Injectable()
export class PostScheduler extends PostSchedulingPort {
  constructor(
    @InjectQueue(QueueName.Posts) private readonly queue: Queue,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
    private readonly outbox: JobOutbox,
  ) {
    super();
  }

  async schedule(post: SchedulablePost): Promise<void> {
    await this.cancel(post.id);
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
    // Outlives the job by a margin; a pointer to a finished job is harmless (remove() is then a no-op).
    await this.redis.set(this.pointerKey(post.id), jobId, 'PX', delay + POINTER_MARGIN_MS);
  }

  async cancel(postId: string): Promise<void> {
    const jobId = await this.redis.getdel(this.pointerKey(postId));
    // remove() refuses a job that is running (locked): that one will find the version changed.
    if (jobId) await this.queue.remove(jobId);
  }

  private pointerKey(postId: string): string {
    return `${this.config.redis.keyPrefix}posts:publish-job:${postId}`;
  }
}
