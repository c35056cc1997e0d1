import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity('organizations')
export class Organization {
  @PrimaryColumn('uuid')
  id: string;

  @Column('text')
  name: string;

  /** URL-safe, unique; used by public routes (e.g. /public/:orgSlug/posts). */
  @Column('text')
  slug: string;

  /** The registering user; the RBAC issue moves ownership to role assignments. */
  @Column('uuid', { nullable: true })
  ownerId: string | null;

  @Column('boolean')
  requireTwoFactor: boolean;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
