/** Roles every organization gets; they cannot be renamed or deleted. Keep in step with the RBAC migration. */
export const SYSTEM_ROLES = {
  owner: ['*:*'],
  admin: [
    'users:*',
    'customers:*',
    'posts:*',
    'media:*',
    'audit:read',
    'roles:*',
    'departments:*',
    'organizations:read',
    'organizations:update',
  ],
  manager: ['customers:*', 'posts:*', 'media:*', 'users:read', 'departments:read', 'audit:read', 'roles:read'],
  agent: [
    'customers:read',
    'customers:create',
    'customers:update',
    'posts:read',
    'posts:create',
    'posts:update',
    'media:read',
    'media:create',
    'departments:read',
    'users:read',
  ],
  viewer: ['*:read'],
} as const satisfies Record<string, readonly string[]>;

export type SystemRoleKey = keyof typeof SYSTEM_ROLES;
