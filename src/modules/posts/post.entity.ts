import { Column, Entity, PrimaryColumn } from 'typeorm';

export const POST_STATUSES = ['draft', 'scheduled', 'published', 'archived'] as const;
export type PostStatus = (typeof POST_STATUSES)[number];

/** A post (CMS). Partitioned by createdAt, which always equals the time carried by its UUIDv7 id. */
@Entity('posts')
export class Post {
  @PrimaryColumn('uuid')
  id: string;

  @PrimaryColumn({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column('uuid')
  organizationId: string;

  @Column('uuid', { nullable: true })
  departmentId: string | null;

  @Column('uuid', { nullable: true })
  authorId: string | null;

  @Column('uuid', { nullable: true })
  coverMediaId: string | null;

  @Column('text')
  title: string;

  /** Unique per organization (enforced by post_slugs). */
  @Column('text')
  slug: string;

  @Column('text')
  body: string;

  @Column('text', { nullable: true })
  excerpt: string | null;

  @Column('text')
  status: PostStatus;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  publishAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  publishedAt: Date | null;

  @Column('text', { array: true })
  tags: string[];

  @Column('int')
  version: number;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  deletedAt: Date | null;
}
