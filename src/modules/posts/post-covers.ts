import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { diffChanges } from '../audit/audit-changes';
import { AuditService } from '../audit/audit.service';
import { PublicPostsCache } from './public-posts.cache';

/**
 * Posts' side of media covers, for the media module: which posts use a media file as their cover, and
 * removing it from them when the media is deleted or quarantined (each post's change audited).
 */
@Injectable()
export class PostCovers {
  constructor(
    private readonly audit: AuditService,
    private readonly publicCache: PublicPostsCache,
    private readonly tx: TransactionRunner,
  ) {}

  /** Live posts using the media as their cover (at most `limit` ids). */
  async usersOf(organizationId: string, mediaId: string, manager: EntityManager, limit = 20): Promise<string[]> {
    const rows = await manager.query<{ id: string }[]>(
      `SELECT id FROM posts WHERE organization_id = $1 AND cover_media_id = $2 AND deleted_at IS NULL
        ORDER BY created_at LIMIT $3`,
      [organizationId, mediaId, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Removes the media as cover from every post of the organization that has it (deleted posts too, so a
   * restore never brings back a dangling cover). Returns the ids of the changed posts.
   */
  async clear(
    organizationId: string,
    mediaId: string,
    change: { actorId: string | null; reason: 'media-deleted' | 'media-quarantined' },
    manager: EntityManager,
  ): Promise<string[]> {
    const [rows] = await manager.query<[{ id: string; status: string }[], number]>(
      `UPDATE posts SET cover_media_id = NULL, version = version + 1, updated_at = now()
        WHERE organization_id = $1 AND cover_media_id = $2
        RETURNING id, status`,
      [organizationId, mediaId],
    );
    for (const post of rows) {
      await this.audit.record(
        {
          organizationId,
          actorId: change.actorId,
          action: 'posts.cover-removed',
          resourceType: 'posts',
          resourceId: post.id,
          outcome: 'success',
          changes: diffChanges({ coverMediaId: mediaId }, { coverMediaId: null }),
          details: { reason: change.reason, mediaId },
        },
        manager,
      );
    }
    if (rows.some((post) => post.status === 'published')) {
      await this.tx.afterCommit(() => this.publicCache.evict(organizationId));
    }
    return rows.map((post) => post.id);
  }
}
