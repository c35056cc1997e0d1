/**
 * Emitted (EventEmitter2) after a customer change commits: for caches of customer aggregates to evict
 * themselves. Never emitted for a rolled-back change.
 */
export const CUSTOMER_CHANGED = 'customers.changed';

export interface CustomerChangedEvent {
  organizationId: string;
  customerId: string;
  action: 'create' | 'update' | 'delete' | 'restore';
}
