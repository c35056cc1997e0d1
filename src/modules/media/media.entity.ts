import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MediaType } from '../../core/files/media-types';

/**
 * pending: waiting for the virus scan; clean / skipped (scanning off): usable; infected / failed (the
 * scanner never said OK): quarantined, never served.
 */
export const SCAN_STATUSES = ['pending', 'clean', 'infected', 'failed', 'skipped'] as const;
export type ScanStatus = (typeof SCAN_STATUSES)[number];

export const MEDIA_VARIANTS = ['original', 'thumb', 'web'] as const;
export type MediaVariant = (typeof MEDIA_VARIANTS)[number];

/** A derived rendition of an image (EXIF-free WebP). */
export interface Rendition {
  key: string;
  width: number;
  height: number;
  size: number;
}

@Entity('media')
export class Media {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  @Column('uuid', { nullable: true })
  departmentId: string | null;

  @Column('uuid', { nullable: true })
  uploadedBy: string | null;

  @Column('text')
  objectKey: string;

  /** Sanitized for display and Content-Disposition; never used to build a key or path. */
  @Column('text')
  filename: string;

  @Column('text')
  type: MediaType;

  @Column('text')
  mimeType: string;

  /** bigint comes back from pg as a string; files stay far below 2^53. */
  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  size: number;

  /** Of the stored bytes (after metadata was stripped from images), hex. */
  @Column('text')
  sha256: string;

  @Column('text')
  scanStatus: ScanStatus;

  @Column('text', { nullable: true })
  scanSignature: string | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  scannedAt: Date | null;

  @Column('int', { nullable: true })
  width: number | null;

  @Column('int', { nullable: true })
  height: number | null;

  @Column('jsonb')
  variants: Partial<Record<'thumb' | 'web', Rendition>>;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}

export function isUsable(media: Pick<Media, 'scanStatus'>): boolean {
  return media.scanStatus === 'clean' || media.scanStatus === 'skipped';
}
