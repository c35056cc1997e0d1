import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { MEDIA_TYPE_INFO } from '../../core/files/media-types';
import { enqueue } from '../../core/queue/job-envelope';
import { QueueName } from '../../core/queue/queue-names';
import { VIRUS_SCANNER, type VirusScanner } from '../../core/scanner/virus-scanner';
import { ObjectStorage } from '../../core/storage/object-storage';
import { diffChanges } from '../audit/audit-changes';
import { AuditService } from '../audit/audit.service';
import { PostCovers } from '../posts/post-covers';
import { MediaRenditions } from './media-renditions';
import { isUsable, type Media, type ScanStatus } from './media.entity';
import type { MediaJobs } from './media.jobs';
import { MediaRepository } from './media.repository';

/** Media still unprocessed this long after upload has lost its job (or it failed for good). */
const STALE_AFTER_MS = 10 * 60 * 1000;
const MAINTAIN_BATCH = 500;
/** Unfinished direct uploads are removed this long after their policy expired (a late /complete still works). */
const UPLOAD_GRACE_MS = 60 * 60 * 1000;

/** Thrown for a scanner error: the job is retried; after the last attempt the media is marked failed. */
export class ScanUnavailableError extends Error {
  override readonly name = 'ScanUnavailableError';
}

/**
 * The worker's part of media: the virus scan (any answer but OK is not clean), quarantine of infected files
 * (audited; removed as cover from posts), image renditions, and upkeep of lost jobs and expired uploads.
 */
@Injectable()
export class MediaProcessingService {
  private readonly logger = new Logger(MediaProcessingService.name);

  constructor(
    private readonly repository: MediaRepository,
    private readonly storage: ObjectStorage,
    private readonly renditions: MediaRenditions,
    private readonly audit: AuditService,
    private readonly covers: PostCovers,
    private readonly tx: TransactionRunner,
    @Inject(VIRUS_SCANNER) private readonly scanner: VirusScanner | null,
    @InjectQueue(QueueName.Media) private readonly queue: Queue,
  ) {}

  /** `lastAttempt`: a scanner error now marks the media failed instead of asking for a retry. */
  async process(mediaId: string, lastAttempt: boolean): Promise<ScanStatus | 'gone'> {
    let media = await this.repository.findById(mediaId);
    if (!media) return 'gone';
    if (media.scanStatus === 'pending') media = await this.scan(media, lastAttempt);
    if (isUsable(media) && MEDIA_TYPE_INFO[media.type].image && !media.variants.thumb) {
      const result = await this.renditions.derive(media);
      await this.repository.update(media.id, result);
    }
    return media.scanStatus;
  }

  private async scan(media: Media, lastAttempt: boolean): Promise<Media> {
    if (!this.scanner) {
      // Scanning was turned off after the upload: the same answer as an upload without scanning.
      await this.repository.update(media.id, { scanStatus: 'skipped' });
      return { ...media, scanStatus: 'skipped' };
    }
    const verdict = await this.scanner.scan(await this.storage.get(media.objectKey));
    if (verdict.status === 'clean') {
      await this.repository.update(media.id, { scanStatus: 'clean', scannedAt: new Date() });
      return { ...media, scanStatus: 'clean' };
    }
    if (verdict.status === 'error' && !lastAttempt) throw new ScanUnavailableError(verdict.reason);
    const status: ScanStatus = verdict.status === 'infected' ? 'infected' : 'failed';
    const signature = verdict.status === 'infected' ? verdict.signature : null;
    await this.quarantine(media, status, signature, verdict.status === 'error' ? verdict.reason : undefined);
    return { ...media, scanStatus: status, scanSignature: signature };
  }

  /** Never served again; posts lose it as their cover; the security event is in the audit log. */
  private async quarantine(media: Media, status: ScanStatus, signature: string | null, reason?: string) {
    await this.tx.run(async (m) => {
      await this.repository.update(
        media.id,
        { scanStatus: status, scanSignature: signature, scannedAt: new Date() },
        m,
      );
      await this.covers.clear(media.organizationId, media.id, { actorId: null, reason: 'media-quarantined' }, m);
      await this.audit.record(
        {
          organizationId: media.organizationId,
          actorId: null,
          action: status === 'infected' ? 'media.quarantine' : 'media.scan-failed',
          resourceType: 'media',
          resourceId: media.id,
          outcome: 'success',
          changes: diffChanges({ scanStatus: media.scanStatus }, { scanStatus: status }),
          details: { signature, reason: reason ?? null, uploadedBy: media.uploadedBy, sha256: media.sha256 },
        },
        m,
      );
    });
    this.logger.warn({ mediaId: media.id, status, signature, reason }, 'media quarantined');
  }

  /** Re-enqueues media whose processing was lost; removes expired, never-completed direct uploads. */
  async maintain(): Promise<{ requeued: number; expiredUploads: number }> {
    const stale = await this.repository.unprocessed(new Date(Date.now() - STALE_AFTER_MS), MAINTAIN_BATCH);
    const slot = Math.floor(Date.now() / STALE_AFTER_MS);
    for (const mediaId of stale) {
      const payload: MediaJobs['process'] = { mediaId };
      // A job id of its own per slot: the original job may still be kept (completed or failed) under its id.
      await enqueue(this.queue, 'process', payload, { jobId: `media-${mediaId}-r${slot}` });
    }
    const expired = await this.repository.expiredUploads(new Date(Date.now() - UPLOAD_GRACE_MS), MAINTAIN_BATCH);
    for (const upload of expired) {
      await this.storage.remove(upload.objectKey);
      await this.repository.deleteUpload(upload.id);
    }
    return { requeued: stale.length, expiredUploads: expired.length };
  }
}
