import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One login on one device. Its id is the `sid` claim of every access token issued for it. */
@Entity('sessions')
export class Session {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  userId: string;

  @Column('uuid')
  organizationId: string;

  @Column('text', { nullable: true })
  ip: string | null;

  @Column('text', { nullable: true })
  userAgent: string | null;

  @Column('text', { nullable: true })
  device: string | null;

  /** The organization requires 2FA and this user has none yet: only setup routes are open. */
  @Column('boolean')
  mfaSetupRequired: boolean;

  /** Last time the user proved a credential (password or TOTP) in this session, for step-up checks. */
  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  stepUpAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  lastUsedAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  expiresAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  revokedAt: Date | null;

  @Column('text', { nullable: true })
  revokedReason: string | null;
}
