import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { applyKeysetPage, type KeysetPageOptions } from '../../core/pagination/keyset';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import type { CustomerStatus } from './customer.entity';
import { escapeLike } from '../../core/database/like-pattern';
import { applyCustomerFilters, type CustomerFilters } from './customers.repository';

/** A customer as the export writes it. */
export interface ExportedCustomer {
  id: string;
  name: string;
  email: string | null;
  phone: string | null;
  company: string | null;
  status: CustomerStatus;
  tags: string[];
  ownerId: string | null;
  departmentId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** The shared filters, but tags always all of them (`tagMode` all), and `q` a plain substring, not a ranked search. */
export interface CustomerExportFilter extends Pick<
  CustomerFilters,
  'statuses' | 'ownerId' | 'departmentPath' | 'tags'
> {
  q?: string;
}

/** Oldest first by (created_at, id): served by customers_created_at_idx, and rows created during an export come last. */
export const EXPORT_ORDER: Omit<KeysetPageOptions, 'limit' | 'after'> = {
  sort: { field: 'createdAt', column: 'c.created_at', type: 'date' },
  direction: 'asc',
  idColumn: 'c.id',
};

/** Keyset batches of the export; every one confined to the organization and the readable departments. */
@Injectable()
export class CustomerExportRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly permissions: PermissionService,
  ) {}

  batch(
    organizationId: string,
    scope: ReadableDepartments,
    filter: CustomerExportFilter,
    page: KeysetPageOptions,
  ): Promise<ExportedCustomer[]> {
    const readable = this.permissions.readableCondition(scope, 'c.department_id');
    const qb = this.dataSource
      .createQueryBuilder()
      .select([
        'c.id AS "id"',
        'c.name AS "name"',
        'c.email::text AS "email"',
        'c.phone AS "phone"',
        'c.company AS "company"',
        'c.status AS "status"',
        'c.tags AS "tags"',
        'c.owner_id AS "ownerId"',
        'c.department_id AS "departmentId"',
        'c.created_at AS "createdAt"',
        'c.updated_at AS "updatedAt"',
      ])
      .from('customers', 'c');
    const { q, ...filters } = filter;
    applyCustomerFilters(qb, organizationId, readable, { ...filters, tagMode: 'all' });
    // `search` is the lower-cased name, email, company and phone (generated column, trigram-indexed).
    if (q) qb.andWhere(`c.search LIKE :q ESCAPE '\\'`, { q: `%${escapeLike(q.toLowerCase())}%` });
    return applyKeysetPage(qb, page).getRawMany<ExportedCustomer>();
  }
}
