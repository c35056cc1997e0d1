import { Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../config/app.config';
import { PostPublisher } from './post-publisher';

/**
 * Publishes scheduled posts whose time has passed but which are still scheduled: their job was lost (Redis
 * flushed or restored from an old snapshot) or is late. Each goes through the same conditional publish as
 * the job, so a job firing at the same moment still yields one publish.
 */
@Injectable()
export class PostSweepService {
  private readonly logger = new Logger(PostSweepService.name);

  constructor(
    private readonly dataSource: DataSource,
    private readonly publisher: PostPublisher,
    private readonly config: AppConfig,
  ) {}

  async sweep(): Promise<{ published: number }> {
    // posts_due_idx (publish_at WHERE status = 'scheduled' AND deleted_at IS NULL) serves this on every partition.
    const due = await this.dataSource.query<{ id: string; createdAt: Date; version: number }[]>(
      `SELECT id, created_at AS "createdAt", version FROM posts
        WHERE status = 'scheduled' AND deleted_at IS NULL AND publish_at <= now()
        ORDER BY publish_at LIMIT $1`,
      [this.config.posts.sweepBatchSize],
    );
    let published = 0;
    for (const post of due) {
      const done = await this.publisher.publishScheduled(post.id, post.createdAt, post.version, {
        actorId: null,
        via: 'sweep',
      });
      if (done) published += 1;
    }
    if (published > 0) this.logger.warn(`sweep published ${published} overdue scheduled post(s)`);
    return { published };
  }
}
