/**
 * Every queue Atrium uses. Names are infrastructure (the API enqueues, the worker consumes, metrics and
 * health watch them); what runs on each queue belongs to the feature that owns it.
 */
export const QueueName = {
  System: 'system',
  Mail: 'mail',
  Audit: 'audit',
  Customers: 'customers',
  Posts: 'posts',
  Media: 'media',
} as const;

export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const ALL_QUEUES: QueueName[] = Object.values(QueueName);
