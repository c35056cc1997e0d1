import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { uuidv7 } from '../../../core/database/uuidv7';
import { SYSTEM_ROLES, type SystemRoleKey } from '../system-roles';
import { Role, RoleAssignment, RolePermission } from './role.entity';

/** Gives a new organization its system roles and makes its first user the owner (in the caller's transaction). */
@Injectable()
export class RbacProvisioner {
  async provisionOrganization(organizationId: string, ownerUserId: string, m: EntityManager): Promise<void> {
    const now = new Date();
    const roles = (Object.keys(SYSTEM_ROLES) as SystemRoleKey[]).map((key) =>
      m.create(Role, {
        id: uuidv7(),
        organizationId,
        name: key.charAt(0).toUpperCase() + key.slice(1),
        description: `System role: ${key}`,
        systemKey: key,
        createdAt: now,
        updatedAt: now,
      }),
    );
    await m.insert(Role, roles);
    await m.insert(
      RolePermission,
      roles.flatMap((role) =>
        SYSTEM_ROLES[role.systemKey as SystemRoleKey].map((permission) => ({ roleId: role.id, permission })),
      ),
    );
    const owner = roles.find((role) => role.systemKey === 'owner');
    await m.insert(RoleAssignment, {
      id: uuidv7(),
      organizationId,
      userId: ownerUserId,
      roleId: owner?.id,
      departmentId: null,
      createdBy: null,
      createdAt: now,
    });
  }
}
