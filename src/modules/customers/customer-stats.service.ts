import { Injectable } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user';
import { PermissionService, type ReadableDepartments } from '../rbac/decision/permission.service';
import { CustomerStatsCache } from './customer-stats.cache';
import type { CustomerStatsDto } from './customer-stats.dto';
import { CustomerStatsRepository } from './customer-stats.repository';
import { CUSTOMER_STATUSES, type CustomerStatus } from './customer.entity';

/** GET /customers/stats: computed over the caller's readable customers, cached per organization and scope. */
@Injectable()
export class CustomerStatsService {
  constructor(
    private readonly repository: CustomerStatsRepository,
    private readonly permissions: PermissionService,
    private readonly cache: CustomerStatsCache,
  ) {}

  async stats(caller: AuthUser): Promise<CustomerStatsDto> {
    const scope = await this.permissions.readableDepartments(caller, 'customers:read');
    return this.cache.getOrCompute(caller.organizationId, scope, () => this.compute(caller.organizationId, scope));
  }

  private async compute(organizationId: string, scope: ReadableDepartments): Promise<CustomerStatsDto> {
    const [statuses, byOwner, createdPerWeek] = await Promise.all([
      this.repository.countByStatus(organizationId, scope),
      this.repository.countByOwner(organizationId, scope),
      this.repository.createdPerWeek(organizationId, scope),
    ]);
    const byStatus = Object.fromEntries(CUSTOMER_STATUSES.map((status) => [status, statuses.get(status) ?? 0]));
    return { byStatus: byStatus as Record<CustomerStatus, number>, byOwner, createdPerWeek };
  }
}
