import { Column, Entity, PrimaryColumn } from 'typeorm';

export type UserStatus = 'invited' | 'active' | 'disabled';

@Entity('users')
export class User {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  /** citext: compared case-insensitively, unique across organizations. */
  @Column('citext')
  email: string;

  @Column('text')
  name: string;

  @Column('text')
  status: UserStatus;

  /** The department the user belongs to; null for organization-level users (seen only with org-wide read). */
  @Column('uuid', { nullable: true })
  departmentId: string | null;

  /** bcrypt(HMAC-SHA-256(pepper, password)); null until an invited user sets one. */
  @Column('text', { nullable: true, select: false })
  passwordHash: string | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  emailVerifiedAt: Date | null;

  /** TOTP secret sealed with AES-256-GCM (SecretBox), bound to the user id. */
  @Column('text', { nullable: true, select: false })
  totpSecret: string | null;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  totpEnabledAt: Date | null;

  /** Last accepted TOTP time step: a code of this step or older is never accepted again. */
  @Column('bigint', {
    nullable: true,
    transformer: { to: (v: number | null) => v, from: (v: string | null) => (v === null ? null : Number(v)) },
  })
  totpLastStep: number | null;

  @Column('int')
  failedLoginCount: number;

  /** Lockouts since the last successful login; each doubles the next lockout period. */
  @Column('int')
  lockoutCount: number;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  lockedUntil: Date | null;

  @Column('int')
  version: number;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
