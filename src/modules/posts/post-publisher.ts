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

/**
 * Publishes post ($1 id, $2 created_at) if it is live, scheduled and, when $3 is given, at version $3. created_at
 * pins the partition. The conditions are on `due`, the row locked by its primary key, never on the updated
 * `posts` itself: a status condition there matches posts_due_idx's predicate (status = 'scheduled' AND
 * deleted_at IS NULL), and with statistics from before a burst of scheduling (no post scheduled yet) the
 * planner scanned that index, all of the partition's scheduled posts, for every publish (5 ms each at 10,000
 * due; test/posts/publish-plan.e2e-spec.ts). Under READ COMMITTED the lock waits for a concurrent publisher
 * and then reads the row as that one committed it, so the second finds it published and updates nothing.
 * FOR NO KEY UPDATE is the lock the UPDATE itself takes.
 */
export const PUBLISH_DUE_POST_SQL = `WITH due AS (
  SELECT status, deleted_at, version FROM posts WHERE id = $1 AND created_at = $2 FOR NO KEY UPDATE
)
UPDATE posts p
   SET status = 'published', published_at = now(), version = p.version + 1, updated_at = now()
  FROM due
 WHERE p.id = $1 AND p.created_at = $2
   AND due.status = 'scheduled' AND due.deleted_at IS NULL AND ($3::int IS NULL OR due.version = $3)
RETURNING p.id, p.organization_id AS "organizationId", p.version, p.published_at AS "publishedAt"`;

/** Who caused a publish: the post's schedule (its job or the sweep) or a person. */
export interface PublishTrigger {
  actorId: string | null;
  via: 'schedule' | 'sweep' | 'manual';
}

/**
 * The one way a scheduled post becomes published. A single conditional UPDATE decides (PUBLISH_DUE_POST_SQL): it
 * matches only a live post that is still scheduled (at `expectedVersion`, when given), so of two workers, a
 * retried job or a job and the sweep, exactly one statement updates the row and the others match nothing. The
 * audit entry commits in the same transaction, so every publish is audited exactly once; the public cache is
 * evicted after commit. Same guarantees and audit shape as PostsService.publish (the API's manual publish),
 * without the API's dependencies (permissions, pagination), so the worker stays light.
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
      const [rows] = await manager.query<[PublishedPost[], number]>(PUBLISH_DUE_POST_SQL, [
        postId,
        createdAt,
        expectedVersion,
      ]);
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
