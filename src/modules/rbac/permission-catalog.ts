import type { PermissionKey } from './permission';

/**
 * What each permission means. The catalog served at GET /permissions lists the permissions the routes
 * actually declare with @RequirePermission (found at start-up); a test fails when one has no description here.
 */
export const PERMISSION_DESCRIPTIONS: Record<PermissionKey, string> = {
  'organizations:read': 'Read the organization and its settings',
  'organizations:update': 'Rename the organization or change its security settings',
  'organizations:delete': 'Delete the organization and all its data',
  'users:read': 'List and read users',
  'users:create': 'Invite users',
  'users:update': 'Change users, disable and enable them',
  'roles:read': 'List roles, their permissions and assignments; explain decisions',
  'roles:create': 'Create roles',
  'roles:update': 'Rename roles and set their permissions',
  'roles:delete': 'Delete roles',
  'roles:assign': 'Assign roles to users and remove assignments',
  'departments:read': 'List and read departments and the department tree',
  'departments:create': 'Create departments',
  'departments:update': 'Rename and move departments',
  'departments:delete': 'Delete departments',
  'customers:read': 'List and read customers',
  'customers:create': 'Create and import customers',
  'customers:update': 'Change customers',
  'customers:delete': 'Delete and restore customers',
  'posts:read': 'List and read posts',
  'posts:create': 'Create posts',
  'posts:update': 'Change posts',
  'posts:delete': 'Delete posts',
  'posts:publish': 'Publish, schedule, unschedule and archive posts',
  'media:read': 'List media and get download URLs',
  'media:create': 'Upload media',
  'media:delete': 'Delete media',
  'audit:read': 'Read and export the audit log',
  'system:queues': 'See and manage the job queues in the dashboard at /admin/queues',
};
