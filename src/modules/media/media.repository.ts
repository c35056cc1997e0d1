import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { applyKeysetPage, type PageRequest } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import type { MediaType } from '../../core/files/media-types';
import { MediaUpload } from './media-upload.entity';
import { Media, type ScanStatus } from './media.entity';
import { escapeLike } from '../../core/database/like-pattern';

/** GET /media: newest first by default; every sort is served by (organization_id, created_at, id). */
export const MEDIA_LIST = defineList({
  scope: 'media',
  idColumn: 'm.id',
  sorts: [{ field: 'createdAt', column: 'm.created_at', type: 'date' }],
  defaultSort: '-createdAt',
});

export interface MediaListFilters {
  types?: MediaType[];
  uploadedBy?: string;
  scanStatuses?: ScanStatus[];
  /** Path of the department whose subtree to show; null when the requested department does not exist. */
  departmentPath?: string | null;
}

/** The queries of media and of direct uploads. */
@Injectable()
export class MediaRepository {
  constructor(@InjectRepository(Media) private readonly media: Repository<Media>) {}

  private repo(manager?: EntityManager): Repository<Media> {
    return manager ? manager.getRepository(Media) : this.media;
  }

  /** `readable`: PermissionService.readableCondition over m.department_id. */
  list(
    organizationId: string,
    readable: { sql: string; params: Record<string, unknown> },
    filters: MediaListFilters,
    page: PageRequest,
  ) {
    const qb = this.media
      .createQueryBuilder('m')
      .where('m.organization_id = :organizationId', { organizationId })
      .andWhere(readable.sql, readable.params);
    if (filters.types?.length) qb.andWhere('m.type IN (:...types)', { types: filters.types });
    if (filters.scanStatuses?.length) qb.andWhere('m.scan_status IN (:...scan)', { scan: filters.scanStatuses });
    if (filters.uploadedBy) qb.andWhere('m.uploaded_by = :uploadedBy', { uploadedBy: filters.uploadedBy });
    if (filters.departmentPath === null) qb.andWhere('FALSE');
    else if (filters.departmentPath !== undefined) {
      qb.andWhere(
        `m.department_id IN (SELECT fd.id FROM departments fd
          WHERE fd.organization_id = :organizationId AND fd.path LIKE :subtree ESCAPE '\\')`,
        { subtree: `${escapeLike(filters.departmentPath)}%` },
      );
    }
    return applyKeysetPage(qb, page).getMany();
  }

  /** Within one organization when `organizationId` is given (the worker knows only the id). */
  findById(
    id: string,
    options: { organizationId?: string; manager?: EntityManager; lock?: boolean } = {},
  ): Promise<Media | null> {
    const qb = this.repo(options.manager).createQueryBuilder('m').where('m.id = :id', { id });
    if (options.organizationId) qb.andWhere('m.organization_id = :organizationId', options);
    if (options.lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async insert(media: Media, manager: EntityManager): Promise<void> {
    await manager.getRepository(Media).insert(media);
  }

  async update(id: string, changes: Partial<Media>, manager?: EntityManager): Promise<void> {
    await this.repo(manager).update({ id }, { ...changes, updatedAt: new Date() });
  }

  async delete(id: string, manager: EntityManager): Promise<void> {
    await manager.getRepository(Media).delete({ id });
  }

  /** Media that should have been processed by now (its job lost with Redis, or failed for good). */
  async unprocessed(olderThan: Date, limit: number): Promise<string[]> {
    const rows = await this.media.query<{ id: string }[]>(
      `SELECT id FROM media
        WHERE created_at < $1
          AND (scan_status = 'pending'
               OR (scan_status IN ('clean', 'skipped') AND type IN ('jpg', 'png', 'gif') AND variants = '{}'))
        ORDER BY created_at LIMIT $2`,
      [olderThan, limit],
    );
    return rows.map((row) => row.id);
  }

  async insertUpload(upload: MediaUpload, manager?: EntityManager): Promise<void> {
    await (manager ?? this.media.manager).getRepository(MediaUpload).insert(upload);
  }

  findUpload(organizationId: string, id: string, manager: EntityManager, lock = false): Promise<MediaUpload | null> {
    const qb = manager
      .getRepository(MediaUpload)
      .createQueryBuilder('u')
      .where('u.id = :id AND u.organization_id = :organizationId', { id, organizationId });
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async completeUpload(id: string, mediaId: string, manager: EntityManager): Promise<void> {
    await manager.getRepository(MediaUpload).update({ id }, { mediaId, completedAt: new Date() });
  }

  /** Unfinished direct uploads past their expiry plus `graceMs`: their objects are removed with them. */
  expiredUploads(before: Date, limit: number): Promise<MediaUpload[]> {
    return this.media.manager
      .getRepository(MediaUpload)
      .createQueryBuilder('u')
      .where('u.completed_at IS NULL AND u.expires_at < :before', { before })
      .orderBy('u.expires_at')
      .limit(limit)
      .getMany();
  }

  async deleteUpload(id: string): Promise<void> {
    await this.media.manager.getRepository(MediaUpload).delete({ id });
  }
}
