import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A node of an organization's department tree. */
@Entity('departments')
export class Department {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  @Column('uuid', { nullable: true })
  parentId: string | null;

  @Column('text')
  name: string;

  /** Ids from the root down to this department, '/<root>/…/<id>/': a subtree is one prefix match. */
  @Column('text')
  path: string;

  @Column('int')
  depth: number;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}
