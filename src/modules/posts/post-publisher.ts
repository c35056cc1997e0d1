import { Injectable, Logger } from '@nestjs/common';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { AuditService } from '../audit/audit.service';
import { PublicPostsCache } from './public-posts.cache';

export interface PublishedPost {
  id: string;
  organizationId: string;
  version: number;
  publishedAt: Date;
}

/** Who caused a publish: the post's schedule (its job or the sweep) or a person. */
export interface PublishTrigger {
  actorId: string | null;
  via: 'schedule' | 'sweep' | 'manual';
}

/**
 * The one way a scheduled post becomes published. A single conditional UPDATE decides: it matches only a
 * live post that is still scheduled (at `expectedVersion`, when given), so of two workers, a retried job or
 * a job and the sweep, exactly one statement updates the row and the others match nothing. The audit entry
 * commits in the same transaction, so every publish is audited exactly once; the public cache is evicted
 * after commit. Same guarantees and audit shape as PostsService.publish (the API's manual publish), without
 * the API's dependencies (permissions, pagination), so the worker stays light.
 */
@Injectable()
export class PostPublisher {
  private readonly logger = new Logger(PostPublisher.name);

  constructor(
    private readonly tx: TransactionRunner,
    private readonly audit: AuditService,
    private readonly publicCache: PublicPostsCache,
  ) {}

  /** Publishes if still due; false when the post changed, was deleted, unscheduled or already published. */
  async publishScheduled(
    postId: string,
    createdAt: Date,
    expectedVersion: number | null,
    trigger: PublishTrigger,
  ): Promise<PublishedPost | null> {
    const published = await this.tx.run(async (manager) => {
      // created_at pins the partition: the UPDATE touches one partition, not all of them.
      const [rows] = await manager.query<[PublishedPost[], number]>(
        `UPDATE posts
            SET status = 'published', published_at = now(), version = version + 1, updated_at = now()
          WHERE id = $1 AND created_at = $2 AND status = 'scheduled' AND deleted_at IS NULL
            AND ($3::int IS NULL OR version = $3)
      RETURNING id, organization_id AS "organizationId", version, published_at AS "publishedAt"`,
        [postId, createdAt, expectedVersion],
      );
      const [post] = rows;
      if (!post) return null;
      await this.audit.record(
        {
          organizationId: post.organizationId,
          actorId: trigger.actorId,
          action: 'posts.publish',
          resourceType: 'posts',
          resourceId: post.id,
          outcome: 'success',
          changes: { before: { status: 'scheduled' }, after: { status: 'published', publishedAt: post.publishedAt } },
          details: { via: trigger.via, scheduledVersion: expectedVersion },
        },
        manager,
      );
      return post;
    });
    if (!published) return null;
    // After commit: the public lists and pages of the organization now include the post.
    await this.publicCache.evict(published.organizationId);
    this.logger.log(`post ${postId} published (${trigger.via})`);
    return published;
  }
}
