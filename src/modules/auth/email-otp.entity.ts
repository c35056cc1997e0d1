import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { OtpPurpose } from './auth.dto';

/** The one live emailed code per (email, purpose); a new request replaces it. Stored as its SHA-256. */
@Entity('email_otps')
export class EmailOtp {
  @PrimaryColumn('uuid')
  id: string;

  @Column('citext')
  email: string;

  @Column('text')
  purpose: OtpPurpose;

  @Column('text')
  codeHash: string;

  @Column('int')
  attempts: number;

  @Column({ type: 'timestamptz', precision: 3 })
  expiresAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  consumedAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
