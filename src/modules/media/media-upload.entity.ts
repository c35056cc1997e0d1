import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { MediaType } from '../../core/files/media-types';

/** A direct upload: a presigned POST into the quarantine prefix, promoted to media by /complete. */
@Entity('media_uploads')
export class MediaUpload {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  @Column('uuid', { nullable: true })
  departmentId: string | null;

  @Column('uuid', { nullable: true })
  createdBy: string | null;

  /** quarantine/org/<org>/<id>: never served, removed once promoted or expired. */
  @Column('text')
  objectKey: string;

  @Column('text')
  filename: string;

  /** From the file name's extension; the bytes must agree with it at /complete. */
  @Column('text')
  declaredType: MediaType;

  @Column('bigint', { transformer: { to: (v: number) => v, from: (v: string) => Number(v) } })
  maxBytes: number;

  @Column({ type: 'timestamptz', precision: 3 })
  expiresAt: Date;

  @Column('uuid', { nullable: true })
  mediaId: string | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  completedAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
