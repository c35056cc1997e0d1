import { Column, Entity, PrimaryColumn } from 'typeorm';

export const CUSTOMER_STATUSES = ['lead', 'prospect', 'active', 'churned'] as const;
export type CustomerStatus = (typeof CUSTOMER_STATUSES)[number];

@Entity('customers')
export class Customer {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  @Column('uuid', { nullable: true })
  departmentId: string | null;

  @Column('uuid', { nullable: true })
  ownerId: string | null;

  @Column('text')
  name: string;

  @Column('citext', { nullable: true })
  email: string | null;

  @Column('text', { nullable: true })
  phone: string | null;

  @Column('text', { nullable: true })
  company: string | null;

  @Column('text')
  status: CustomerStatus;

  @Column('text', { array: true })
  tags: string[];

  @Column('jsonb')
  customFields: Record<string, unknown>;

  /** Optimistic concurrency: the ETag; If-Match with an older one is a 412. */
  @Column('int')
  version: number;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;

  @Column({ type: 'timestamptz', precision: 3, nullable: true })
  deletedAt: Date | null;
}
