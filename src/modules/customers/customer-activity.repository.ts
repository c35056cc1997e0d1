import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { applyKeysetPage, type PageRequest } from '../../core/pagination/keyset';
import { defineList } from '../../core/pagination/sort';
import type { CustomerActivity } from './customer-activity.dto';

/** GET /customers/:id/activities: served by (customer_id, occurred_at, id); newest first by default. */
export const CUSTOMER_ACTIVITY_LIST = defineList({
  scope: 'customer-activities',
  idColumn: 'a.id',
  sorts: [{ field: 'occurredAt', column: 'a.occurred_at', type: 'date' }],
  defaultSort: '-occurredAt',
});

/** What the timeline needs to know about its customer: that it lives, and its department for the check. */
export interface CustomerRef {
  id: string;
  departmentId: string | null;
}

const ACTIVITY_COLUMNS = [
  'a.id AS "id"',
  'a.customer_id AS "customerId"',
  'a.author_id AS "authorId"',
  'a.type AS "type"',
  'a.body AS "body"',
  'a.occurred_at AS "occurredAt"',
  'a.created_at AS "createdAt"',
];

/** Queries of the customer timeline; each confined to one organization. */
@Injectable()
export class CustomerActivityRepository {
  constructor(private readonly dataSource: DataSource) {}

  /**
   * A customer that is not deleted, within the organization; null otherwise. `lock` (inside a transaction)
   * takes a share lock so the customer cannot be deleted before the activity commits.
   */
  async findLiveCustomer(
    organizationId: string,
    id: string,
    manager?: EntityManager,
    lock = false,
  ): Promise<CustomerRef | null> {
    const rows = await (manager ?? this.dataSource.manager).query<CustomerRef[]>(
      `SELECT id, department_id AS "departmentId" FROM customers
        WHERE id = $1 AND organization_id = $2 AND deleted_at IS NULL${lock ? ' FOR SHARE' : ''}`,
      [id, organizationId],
    );
    return rows[0] ?? null;
  }

  list(organizationId: string, customerId: string, page: PageRequest): Promise<CustomerActivity[]> {
    const qb = this.dataSource
      .createQueryBuilder()
      .select(ACTIVITY_COLUMNS)
      .from('customer_activities', 'a')
      .where('a.customer_id = :customerId AND a.organization_id = :organizationId', { customerId, organizationId });
    return applyKeysetPage(qb, page).getRawMany<CustomerActivity>();
  }

  async insert(activity: CustomerActivity & { organizationId: string }, manager: EntityManager): Promise<void> {
    await manager.query(
      `INSERT INTO customer_activities (id, organization_id, customer_id, author_id, type, body, occurred_at, created_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [
        activity.id,
        activity.organizationId,
        activity.customerId,
        activity.authorId,
        activity.type,
        activity.body,
        activity.occurredAt,
        activity.createdAt,
      ],
    );
  }
}
