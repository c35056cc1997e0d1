import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { SystemRoleKey } from '../system-roles';

@Entity('roles')
export class Role {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  @Column('text')
  name: string;

  @Column('text')
  description: string;

  /** Set for the seeded system roles, which cannot be renamed or deleted. */
  @Column('text', { nullable: true })
  systemKey: SystemRoleKey | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;

  @Column({ type: 'timestamptz', precision: 3 })
  updatedAt: Date;
}

@Entity('role_permissions')
export class RolePermission {
  @PrimaryColumn('uuid')
  roleId: string;

  @PrimaryColumn('text')
  permission: string;
}

/** A role granted to a user for the whole organization (departmentId null) or one department subtree. */
@Entity('role_assignments')
export class RoleAssignment {
  @PrimaryColumn('uuid')
  id: string;

  @Column('uuid')
  organizationId: string;

  @Column('uuid')
  userId: string;

  @Column('uuid')
  roleId: string;

  @Column('uuid', { nullable: true })
  departmentId: string | null;

  @Column('uuid', { nullable: true })
  createdBy: string | null;

  @Column({ type: 'timestamptz', precision: 3 })
  createdAt: Date;
}
