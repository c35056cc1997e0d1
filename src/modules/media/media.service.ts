import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { AppConfig } from '../../config/app.config';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { ValidationException } from '../../core/exceptions/app.exception';
import { contentDisposition } from '../../core/files/content-disposition';
import { MEDIA_TYPE_INFO, MEDIA_TYPES } from '../../core/files/media-types';
import { mapPage, type Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import { JobOutbox } from '../../core/queue/job-outbox';
import { QueueName } from '../../core/queue/queue-names';
import { ObjectStorage } from '../../core/storage/object-storage';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { PostCovers } from '../posts/post-covers';
import { PermissionService } from '../rbac/decision/permission.service';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import { MediaIngest, type IngestSource } from './media-ingest';
import type { MediaUpload } from './media-upload.entity';
import { MediaDto, MediaUrlDto, UploadPolicyDto, type CreateUploadDto, type ListMediaQueryDto } from './media.dto';
import { isUsable, type Media, type MediaVariant } from './media.entity';
import { MediaException, MediaExceptionCode } from './media.exception';
import { processJobId, type MediaJobs } from './media.jobs';
import { MEDIA_LIST, MediaRepository, type MediaListFilters } from './media.repository';

/** org/<org>/<yyyy>/<mm>/<id>: generated, never from a file name; the month keeps listings of a bucket short. */
export function mediaObjectKey(organizationId: string, id: string, at: Date): string {
  const month = String(at.getUTCMonth() + 1).padStart(2, '0');
  return `org/${organizationId}/${at.getUTCFullYear()}/${month}/${id}`;
}

/** Direct uploads land here; nothing under quarantine/ is ever served. */
export function quarantineKey(organizationId: string, uploadId: string): string {
  return `quarantine/org/${organizationId}/${uploadId}`;
}

function noSuchMedia(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
}

/** The fields an audit entry of media shows. */
function snapshot(media: Media): Record<string, unknown> {
  return {
    filename: media.filename,
    type: media.type,
    size: media.size,
    sha256: media.sha256,
    departmentId: media.departmentId,
    scanStatus: media.scanStatus,
  };
}

/**
 * Media of the caller's organization: uploads (streamed through MediaIngest), direct uploads through a
 * presigned POST policy, listing, presigned downloads and deletion, within the departments the caller's
 * grants cover. Scanning and renditions happen in the worker (MediaProcessor).
 */
@Injectable()
export class MediaService {
  private readonly logger = new Logger(MediaService.name);

  constructor(
    private readonly repository: MediaRepository,
    private readonly ingest: MediaIngest,
    private readonly storage: ObjectStorage,
    private readonly permissions: PermissionService,
    private readonly paginator: Paginator,
    private readonly audit: AuditService,
    private readonly covers: PostCovers,
    private readonly tx: TransactionRunner,
    private readonly config: AppConfig,
    @InjectQueue(QueueName.Media) private readonly queue: Queue,
    private readonly outbox: JobOutbox,
  ) {}

  async list(caller: AuthUser, query: ListMediaQueryDto): Promise<Page<MediaDto>> {
    const filters: MediaListFilters = {
      types: query.type,
      uploadedBy: query.uploadedBy,
      scanStatuses: query.scanStatus,
    };
    if (query.departmentId !== undefined)
      filters.departmentPath = await this.permissions.departmentPath(caller.organizationId, query.departmentId);
    const scope = await this.permissions.readableDepartments(caller, 'media:read');
    const request = this.paginator.resolve(query, MEDIA_LIST);
    const readable = this.permissions.readableCondition(scope, 'm.department_id');
    const rows = await this.repository.list(caller.organizationId, readable, filters, request);
    return mapPage(this.paginator.page(rows, request), (media) => MediaDto.from(media));
  }

  async get(caller: AuthUser, id: string): Promise<Media> {
    const media = await this.repository.findById(id, { organizationId: caller.organizationId });
    if (!media) throw noSuchMedia();
    await this.permissions.assertAllowed(caller, 'media:read', media.departmentId);
    return media;
  }

  /** POST /media: the bytes stream through MediaIngest into storage; the row commits with its audit entry. */
  async upload(caller: AuthUser, departmentId: string | null, source: IngestSource): Promise<Media> {
    await this.permissions.assertAllowedIn(caller, 'media:create', departmentId);
    const now = new Date();
    const id = uuidv7(now.getTime());
    const key = mediaObjectKey(caller.organizationId, id, now);
    const ingested = await this.ingest.ingest(source, key);
    return this.record(caller, { id, key, departmentId, now, ...ingested });
  }

  /** POST /media/uploads: a presigned POST policy into quarantine, capped at the named type's limit. */
  async createUpload(caller: AuthUser, input: CreateUploadDto): Promise<UploadPolicyDto> {
    const departmentId = input.departmentId ?? null;
    await this.permissions.assertAllowedIn(caller, 'media:create', departmentId);
    const declaredType = this.ingest.typeOfName(input.filename);
    if (!declaredType) {
      throw new MediaException(
        MediaExceptionCode.UnsupportedType,
        `The file name must end in the extension of an accepted type (${MEDIA_TYPES.join(', ')}).`,
        { field: 'filename', allowed: [...MEDIA_TYPES] },
      );
    }
    const now = new Date();
    const id = uuidv7(now.getTime());
    const maxBytes = this.config.media.maxBytes[declaredType];
    const expiresInSeconds = this.config.media.uploadTtlSeconds;
    const upload: MediaUpload = {
      id,
      organizationId: caller.organizationId,
      departmentId,
      createdBy: caller.id,
      objectKey: quarantineKey(caller.organizationId, id),
      filename: input.filename,
      declaredType,
      maxBytes,
      expiresAt: new Date(now.getTime() + expiresInSeconds * 1000),
      mediaId: null,
      completedAt: null,
      createdAt: now,
    };
    await this.repository.insertUpload(upload);
    const policy = await this.storage.presignPost(upload.objectKey, { expiresInSeconds, minBytes: 1, maxBytes });
    return Object.assign(new UploadPolicyDto(), {
      id,
      url: policy.url,
      fields: policy.fields,
      maxBytes,
      expiresAt: policy.expiresAt,
    });
  }

  /**
   * POST /media/uploads/:id/complete: the object in quarantine goes through the same ingest as a multipart
   * upload (type from the bytes, must match the declared name; limits; metadata stripped) into its final
   * key; the quarantine object is removed either way. Completing again returns the same media.
   */
  async completeUpload(caller: AuthUser, uploadId: string): Promise<Media> {
    const upload = await this.tx.run((m) => this.repository.findUpload(caller.organizationId, uploadId, m));
    if (!upload) throw noSuchMedia();
    await this.permissions.assertAllowed(caller, 'media:create', upload.departmentId, 'media:read');
    if (upload.mediaId) return this.get(caller, upload.mediaId);
    if (upload.completedAt) throw noSuchMedia();
    const stored = await this.storage.stat(upload.objectKey);
    if (!stored) {
      if (upload.expiresAt < new Date()) {
        throw new MediaException(MediaExceptionCode.UploadExpired, 'The upload expired before the file arrived.');
      }
      throw new MediaException(MediaExceptionCode.UploadMissing, 'The file has not been uploaded yet.', {
        expiresAt: upload.expiresAt,
      });
    }
    if (stored.size > upload.maxBytes) {
      await this.storage.remove(upload.objectKey);
      throw new MediaException(MediaExceptionCode.TooLarge, `The file may have at most ${upload.maxBytes} bytes.`, {
        field: 'file',
        maxBytes: upload.maxBytes,
      });
    }
    const now = new Date();
    const id = uuidv7(now.getTime());
    const key = mediaObjectKey(caller.organizationId, id, now);
    try {
      const ingested = await this.ingest.ingest(
        { stream: await this.storage.get(upload.objectKey), filename: upload.filename, contentType: undefined },
        key,
        upload.declaredType,
      );
      return await this.record(caller, { id, key, departmentId: upload.departmentId, now, ...ingested }, upload);
    } finally {
      await this.storage.remove(upload.objectKey).catch(() => undefined);
    }
  }

  /** GET /media/:id/url: a presigned GET of the original or a rendition, with a short expiry. */
  async url(caller: AuthUser, id: string, variant: MediaVariant): Promise<MediaUrlDto> {
    const media = await this.get(caller, id);
    if (media.scanStatus === 'infected' || media.scanStatus === 'failed') {
      throw new MediaException(MediaExceptionCode.Quarantined, 'This file is quarantined and cannot be downloaded.', {
        scanStatus: media.scanStatus,
      });
    }
    if (!isUsable(media)) {
      throw new MediaException(MediaExceptionCode.NotReady, 'This file is waiting for its virus scan.', {
        scanStatus: media.scanStatus,
      });
    }
    const info = MEDIA_TYPE_INFO[media.type];
    let key = media.objectKey;
    let contentType = info.mime;
    let filename = media.filename;
    if (variant !== 'original') {
      if (!info.image) {
        throw new ValidationException([{ field: 'variant', message: `${media.type} files have only the original` }]);
      }
      const rendition = media.variants[variant];
      if (!rendition) {
        throw new MediaException(MediaExceptionCode.NotReady, `The ${variant} rendition is not made yet.`, {
          variant,
        });
      }
      key = rendition.key;
      contentType = 'image/webp';
      filename = `${filename.replace(/\.[^.]+$/, '')}-${variant}.webp`;
    }
    const disposition = contentDisposition(info.inline ? 'inline' : 'attachment', filename);
    const signed = await this.storage.presignGet(key, {
      expiresInSeconds: this.config.media.urlTtlSeconds,
      contentType,
      contentDisposition: disposition,
    });
    return Object.assign(new MediaUrlDto(), {
      url: signed.url,
      expiresAt: signed.expiresAt,
      variant,
      contentDisposition: disposition,
    });
  }

  /**
   * DELETE /media/:id: refused (409 naming the posts) while live posts use it as cover, unless `force`,
   * which removes it from them. The objects go once the deletion is committed.
   */
  async remove(caller: AuthUser, id: string, force: boolean): Promise<void> {
    const media = await this.tx.run(async (m) => {
      const found = await this.repository.findById(id, {
        organizationId: caller.organizationId,
        manager: m,
        lock: true,
      });
      if (!found) throw noSuchMedia();
      await this.permissions.assertAllowed(caller, 'media:delete', found.departmentId);
      const posts = await this.covers.usersOf(caller.organizationId, id, m);
      if (posts.length && !force) {
        throw new MediaException(
          MediaExceptionCode.InUse,
          'Posts use this media as their cover; remove it from them or delete with force=true.',
          { posts },
        );
      }
      await this.covers.clear(caller.organizationId, id, { actorId: caller.id, reason: 'media-deleted' }, m);
      await this.repository.delete(id, m);
      await this.audit.recordChange(
        caller,
        { action: 'media.delete', resourceType: 'media', resourceId: id, before: snapshot(found), after: null },
        m,
      );
      return found;
    });
    for (const key of [media.objectKey, ...Object.values(media.variants).map((rendition) => rendition.key)]) {
      await this.storage.remove(key).catch((error: unknown) => {
        this.logger.warn({ err: error, key }, 'object of deleted media not removed');
      });
    }
  }

  /** The row, its audit entry and (after commit) its processing job; the object goes if the row cannot. */
  private async record(
    caller: AuthUser,
    media: Pick<Media, 'id' | 'departmentId' | 'type' | 'size' | 'sha256' | 'filename'> & { key: string; now: Date },
    upload?: MediaUpload,
  ): Promise<Media> {
    const row: Media = {
      id: media.id,
      organizationId: caller.organizationId,
      departmentId: media.departmentId,
      uploadedBy: caller.id,
      objectKey: media.key,
      filename: media.filename,
      type: media.type,
      mimeType: MEDIA_TYPE_INFO[media.type].mime,
      size: media.size,
      sha256: media.sha256,
      scanStatus: this.config.scanner ? 'pending' : 'skipped',
      scanSignature: null,
      scannedAt: null,
      width: null,
      height: null,
      variants: {},
      createdAt: media.now,
      updatedAt: media.now,
    };
    try {
      await this.tx.run(async (m) => {
        if (upload) {
          const locked = await this.repository.findUpload(caller.organizationId, upload.id, m, true);
          if (!locked || locked.completedAt) throw noSuchMedia();
        }
        await this.repository.insert(row, m);
        if (upload) await this.repository.completeUpload(upload.id, row.id, m);
        await this.audit.recordChange(
          caller,
          {
            action: 'media.create',
            resourceType: 'media',
            resourceId: row.id,
            before: null,
            after: snapshot(row),
            details: { via: upload ? 'direct-upload' : 'upload' },
          },
          m,
        );
        if (row.scanStatus === 'pending' || MEDIA_TYPE_INFO[row.type].image) {
          await this.enqueueProcessing(row.id);
        }
      });
    } catch (error) {
      await this.storage.remove(media.key).catch(() => undefined);
      throw error;
    }
    return row;
  }

  /** In the upload's transaction (outbox): the job cannot be lost, so media does not wait for `maintain`. */
  private async enqueueProcessing(mediaId: string): Promise<void> {
    const payload: MediaJobs['process'] = { mediaId };
    await this.outbox.enqueue(this.queue, 'process', payload, { jobId: processJobId(mediaId) });
  }
}
