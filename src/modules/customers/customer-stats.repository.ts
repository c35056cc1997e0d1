import { Injectable } from '@nestjs/common';
import { DataSource, type SelectQueryBuilder } from 'typeorm';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import type { CustomerOwnerCountDto, CustomerWeekCountDto } from './customer-stats.dto';
import type { CustomerStatus } from './customer.entity';

export const STATS_WEEKS = 12;

/** The aggregates of GET /customers/stats, over live customers in the readable departments. */
@Injectable()
export class CustomerStatsRepository {
  constructor(
    private readonly dataSource: DataSource,
    private readonly permissions: PermissionService,
  ) {}

  async countByStatus(organizationId: string, scope: ReadableDepartments): Promise<Map<CustomerStatus, number>> {
    const rows = await this.scoped(organizationId, scope)
      .select('c.status', 'status')
      .addSelect('count(*)::int', 'count')
      .groupBy('c.status')
      .getRawMany<{ status: CustomerStatus; count: number }>();
    return new Map(rows.map((row) => [row.status, row.count]));
  }

  countByOwner(organizationId: string, scope: ReadableDepartments): Promise<CustomerOwnerCountDto[]> {
    return this.scoped(organizationId, scope)
      .select('c.owner_id', 'ownerId')
      .addSelect('count(*)::int', 'count')
      .groupBy('c.owner_id')
      .orderBy('count(*)', 'DESC')
      .addOrderBy('c.owner_id', 'ASC', 'NULLS LAST')
      .getRawMany<CustomerOwnerCountDto>();
  }

  /** Customers created per ISO week (UTC), the last STATS_WEEKS weeks including this one, zeros filled in. */
  async createdPerWeek(organizationId: string, scope: ReadableDepartments): Promise<CustomerWeekCountDto[]> {
    const counted = this.scoped(organizationId, scope)
      .select(`date_trunc('week', c.created_at AT TIME ZONE 'UTC')`, 'week')
      .addSelect('count(*)::int', 'count')
      .andWhere(`c.created_at >= (date_trunc('week', now() AT TIME ZONE 'UTC') - :span::interval) AT TIME ZONE 'UTC'`, {
        span: `${STATS_WEEKS - 1} weeks`,
      })
      .groupBy('1');
    const [sql, params] = counted.getQueryAndParameters();
    const weeks = STATS_WEEKS - 1;
    return this.dataSource.query<CustomerWeekCountDto[]>(
      `SELECT to_char(w.week, 'YYYY-MM-DD') AS week, COALESCE(counted.count, 0)::int AS count
         FROM generate_series(
                date_trunc('week', now() AT TIME ZONE 'UTC') - interval '${weeks} weeks',
                date_trunc('week', now() AT TIME ZONE 'UTC'),
                interval '1 week') AS w(week)
         LEFT JOIN (${sql}) counted ON counted.week = w.week
        ORDER BY w.week`,
      params,
    );
  }

  private scoped(organizationId: string, scope: ReadableDepartments): SelectQueryBuilder<Record<string, unknown>> {
    const readable = this.permissions.readableCondition(scope, 'c.department_id');
    return this.dataSource
      .createQueryBuilder()
      .from('customers', 'c')
      .where('c.organization_id = :organizationId AND c.deleted_at IS NULL', { organizationId })
      .andWhere(readable.sql, readable.params);
  }
}
