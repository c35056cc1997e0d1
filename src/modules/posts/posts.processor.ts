import { Processor } from '@nestjs/bullmq';
import { Inject } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { QueueName } from '../../core/queue/queue-names';
import { TypedProcessor, type JobHandlers } from '../../core/queue/typed-processor';
import { PostPartitionsService } from './post-partitions.service';
import { PostPublisher } from './post-publisher';
import { PostSweepService } from './post-sweep.service';
import { POSTS_JOB_NAMES, type PostsJobs } from './posts.jobs';

/** The lock manager's options, fixed when BullMQ builds it; rebuilt once the configured values are set. */
interface ConfigurableWorker {
  opts: { lockDuration?: number; lockRenewTime?: number; stalledInterval?: number };
  createLockManager(): void;
  run(): Promise<void>;
}

/**
 * Created with autorun off: lock duration and stalled-check interval come from AppConfig, which a decorator
 * cannot read, so they are applied before the worker starts. A worker that dies mid-job stops renewing its
 * lock; after POSTS_JOB_LOCK_MS another worker's stalled check moves the job back to wait and it runs again.
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
    @Inject(AppConfig) private readonly config: AppConfig,
  ) {
    super();
  }

  override onApplicationBootstrap(): void {
    super.onApplicationBootstrap();
    const worker = this.worker as unknown as ConfigurableWorker;
    worker.opts.lockDuration = this.config.posts.jobLockMs;
    worker.opts.lockRenewTime = this.config.posts.jobLockMs / 2;
    worker.opts.stalledInterval = this.config.posts.stalledIntervalMs;
    worker.createLockManager();
    void worker.run().catch((error: unknown) => this.logger.error(`posts worker stopped: ${String(error)}`));
  }
}
