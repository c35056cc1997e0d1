import { Processor } from '@nestjs/bullmq';
import type { AppConfig } from '../../config/app.config';
import { QueueName } from '../../core/queue/queue-names';
import { TypedProcessor, type JobHandlers, type JobLockSettings } from '../../core/queue/typed-processor';
import { PostPartitionsService } from './post-partitions.service';
import { PostPublisher } from './post-publisher';
import { PostSweepService } from './post-sweep.service';
import { POSTS_JOB_NAMES, type PostsJobs } from './posts.jobs';

/**
 * Lock duration and stalled-check interval of its own (POSTS_JOB_LOCK_MS, POSTS_STALLED_INTERVAL_MS; applied
 * by TypedProcessor). A worker that dies mid-job stops renewing its lock; after POSTS_JOB_LOCK_MS another
 * worker's stalled check moves the job back to wait and it runs again.
 */
@Processor(QueueName.Posts, { autorun: false })
export class PostsProcessor extends TypedProcessor<PostsJobs> {
  protected readonly jobNames = POSTS_JOB_NAMES;
  protected readonly handlers: JobHandlers<PostsJobs> = {
    publish: (job) =>
      this.publisher.publishScheduled(job.postId, new Date(job.createdAt), job.version, {
        actorId: null,
        via: 'schedule',
      }),
    'sweep-due': () => this.sweeper.sweep(),
    'maintain-partitions': () => this.partitions.maintain(),
  };

  constructor(
    private readonly publisher: PostPublisher,
    private readonly sweeper: PostSweepService,
    private readonly partitions: PostPartitionsService,
  ) {
    super();
  }

  protected override lockSettings(config: AppConfig): JobLockSettings {
    return { lockMs: config.posts.jobLockMs, stalledIntervalMs: config.posts.stalledIntervalMs };
  }
}
