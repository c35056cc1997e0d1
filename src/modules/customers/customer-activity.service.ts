import { Injectable } from '@nestjs/common';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { uuidv7 } from '../../core/database/uuidv7';
import { mapPage, type Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { PermissionService } from '../rbac/decision/permission.service';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import {
  CustomerActivityDto,
  type CreateCustomerActivityDto,
  type CustomerActivity,
  type ListCustomerActivitiesQueryDto,
} from './customer-activity.dto';
import { CUSTOMER_ACTIVITY_LIST, CustomerActivityRepository, type CustomerRef } from './customer-activity.repository';

// The same answer as a customer outside the caller's read scope (PermissionService.assertAllowed): a missing,
// deleted, foreign and unreadable customer cannot be told apart.
function noSuchCustomer(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
}

/** A customer's timeline: calls, emails, meetings and notes, newest first; every new entry audited. */
@Injectable()
export class CustomerActivityService {
  constructor(
    private readonly repository: CustomerActivityRepository,
    private readonly permissions: PermissionService,
    private readonly paginator: Paginator,
    private readonly audit: AuditService,
    private readonly tx: TransactionRunner,
  ) {}

  async list(
    caller: AuthUser,
    customerId: string,
    query: ListCustomerActivitiesQueryDto,
  ): Promise<Page<CustomerActivityDto>> {
    // Cursors are bound to the customer: one customer's cursor is refused on another's timeline.
    const request = this.paginator.resolve(query, CUSTOMER_ACTIVITY_LIST, {
      scope: `${CUSTOMER_ACTIVITY_LIST.scope}:${customerId}`,
    });
    await this.readableCustomer(caller, customerId);
    const rows = await this.repository.list(caller.organizationId, customerId, request);
    return mapPage(this.paginator.page(rows, request), (row) => CustomerActivityDto.from(row));
  }

  /** Needs customers:update on the customer's department; the entry and its audit record commit together. */
  async create(caller: AuthUser, customerId: string, input: CreateCustomerActivityDto): Promise<CustomerActivityDto> {
    return this.tx.run(async (m) => {
      const customer = await this.repository.findLiveCustomer(caller.organizationId, customerId, m, true);
      if (!customer) throw noSuchCustomer();
      await this.permissions.assertAllowed(caller, 'customers:update', customer.departmentId);
      const createdAt = new Date();
      const activity: CustomerActivity = {
        id: uuidv7(createdAt.getTime()),
        customerId,
        authorId: caller.id,
        type: input.type,
        body: input.body,
        occurredAt: input.occurredAt ? new Date(input.occurredAt) : createdAt,
        createdAt,
      };
      await this.repository.insert({ ...activity, organizationId: caller.organizationId }, m);
      await this.audit.record(
        {
          organizationId: caller.organizationId,
          actorId: caller.id,
          action: 'customers.activity.create',
          resourceType: 'customers',
          resourceId: customerId,
          outcome: 'success',
          details: { activityId: activity.id, type: activity.type, occurredAt: activity.occurredAt.toISOString() },
        },
        m,
      );
      return CustomerActivityDto.from(activity);
    });
  }

  /** The live customer if the caller may read it, else the 404 every unreadable customer gets. */
  private async readableCustomer(caller: AuthUser, customerId: string): Promise<CustomerRef> {
    const customer = await this.repository.findLiveCustomer(caller.organizationId, customerId);
    if (!customer) throw noSuchCustomer();
    await this.permissions.assertAllowed(caller, 'customers:read', customer.departmentId);
    return customer;
  }
}
