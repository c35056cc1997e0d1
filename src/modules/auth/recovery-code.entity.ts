import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One of a user's ten single-use 2FA recovery codes, stored as its SHA-256 (the codes are high-entropy). */
@Entity('recovery_codes')
export class RecoveryCode {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  userId: string;

  @Column('text')
  codeHash: string;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  usedAt: Date | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
