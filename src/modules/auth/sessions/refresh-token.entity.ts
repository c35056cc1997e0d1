import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An opaque refresh token, stored as its SHA-256; each use rotates it. */
@Entity('refresh_tokens')
export class RefreshToken {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  sessionId: string;

  @Column('text')
  tokenHash: string;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  expiresAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  rotatedAt: Date | null;

  /** The pair issued at rotation, sealed, so a racing duplicate refresh within the grace window gets it too. */
  @Column('text', { nullable: true })
  successorSealed: string | null;
}
