import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { EntityManager } from 'typeorm';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { isUniqueViolation } from '../../core/database/unique-violation';
import { uuidv7 } from '../../core/database/uuidv7';
import { ValidationException } from '../../core/exceptions/app.exception';
import { mapPage, type Page } from '../../core/pagination/page.dto';
import { Paginator } from '../../core/pagination/paginator';
import { AuditService } from '../audit/audit.service';
import type { AuthUser } from '../auth/auth-user';
import { PermissionService } from '../rbac/decision/permission.service';
import { RbacException, RbacExceptionCode } from '../rbac/rbac.exception';
import {
  CustomerDto,
  type CreateCustomerDto,
  type ListCustomersQueryDto,
  type UpdateCustomerDto,
} from './customer.dto';
import type { Customer } from './customer.entity';
import { CUSTOMER_CHANGED, type CustomerChangedEvent } from './customer.events';
import { CustomerException, CustomerExceptionCode } from './customer.exception';
import { CustomerSearchService } from './customer-search.service';
import { CUSTOMER_LIST, CustomersRepository, type CustomerListFilters } from './customers.repository';

/** The unique index that keeps emails unique per organization among live customers. */
const EMAIL_INDEX = 'customers_email_idx';

/** The fields an audit entry shows before/after of (everything a client can change, plus deletion). */
const AUDITED_FIELDS = [
  'name',
  'email',
  'phone',
  'company',
  'status',
  'tags',
  'ownerId',
  'departmentId',
  'customFields',
  'deletedAt',
] as const;

type CustomerChanges = Partial<Pick<Customer, (typeof AUDITED_FIELDS)[number]>>;

// The same answer as a customer outside the caller's read scope (PermissionService.assertAllowed), so a
// missing, deleted, foreign and unreadable customer cannot be told apart.
function noSuchCustomer(): RbacException {
  return new RbacException(RbacExceptionCode.NotFound, 'No such resource.');
}

function emailTaken(): CustomerException {
  return new CustomerException(
    CustomerExceptionCode.EmailTaken,
    'Another customer of this organization already has this email.',
    { field: 'email' },
  );
}

function snapshot(customer: Customer): Record<string, unknown> {
  return Object.fromEntries(AUDITED_FIELDS.map((field) => [field, customer[field]]));
}

/**
 * Customers of the caller's organization: list and search, create, read, change, soft-delete and restore,
 * within the departments the caller's grants cover. Every change is audited (before/after) in its own
 * transaction, and announced (CUSTOMER_CHANGED) once committed.
 */
@Injectable()
export class CustomersService {
  constructor(
    private readonly repository: CustomersRepository,
    private readonly permissions: PermissionService,
    private readonly paginator: Paginator,
    private readonly audit: AuditService,
    private readonly events: EventEmitter2,
    private readonly tx: TransactionRunner,
    private readonly search: CustomerSearchService,
  ) {}

  async list(caller: AuthUser, query: ListCustomersQueryDto): Promise<Page<CustomerDto>> {
    const filters = await this.filtersOf(caller, query);
    const scope = await this.permissions.readableDepartments(caller, 'customers:read');
    if (filters.q !== undefined) {
      const found = await this.search.search(caller.organizationId, scope, { ...filters, q: filters.q }, query);
      return mapPage(found, (row) => CustomerDto.from(row));
    }
    const request = this.paginator.resolve(query, CUSTOMER_LIST);
    const rows = await this.repository.list(caller.organizationId, scope, filters, request);
    return mapPage(this.paginator.page(rows, request), (row) => CustomerDto.from(row));
  }

  async create(caller: AuthUser, input: CreateCustomerDto): Promise<Customer> {
    const departmentId = input.departmentId ?? null;
    await this.permissions.assertAllowedIn(caller, 'customers:create', departmentId);
    const ownerId = input.ownerId ?? null;
    try {
      return await this.tx.run(async (m) => {
        if (ownerId) await this.requireUser(caller, ownerId, m);
        const now = new Date();
        const customer: Customer = {
          id: uuidv7(now.getTime()),
          organizationId: caller.organizationId,
          departmentId,
          ownerId,
          name: input.name,
          email: input.email ?? null,
          phone: input.phone ?? null,
          company: input.company ?? null,
          status: input.status ?? 'lead',
          tags: input.tags ?? [],
          customFields: input.customFields ?? {},
          version: 1,
          createdAt: now,
          updatedAt: now,
          deletedAt: null,
        };
        await this.repository.insert(customer, m);
        await this.audit.recordChange(
          caller,
          {
            action: 'customers.create',
            resourceType: 'customers',
            resourceId: customer.id,
            before: null,
            after: snapshot(customer),
          },
          m,
        );
        await this.announce(caller, customer.id, 'create');
        return customer;
      });
    } catch (error) {
      // Two creates of one email at once: the unique index decides, the loser gets the same 409.
      if (isUniqueViolation(error, EMAIL_INDEX)) throw emailTaken();
      throw error;
    }
  }

  async get(caller: AuthUser, id: string): Promise<Customer> {
    const customer = await this.repository.findInOrganization(caller.organizationId, id);
    if (!customer) throw noSuchCustomer();
    await this.permissions.assertAllowed(caller, 'customers:read', customer.departmentId);
    return customer;
  }

  /**
   * `expectedVersion` comes from If-Match; a stale one is a 412 and nothing changes. Without If-Match the
   * change applies to whatever version is current (last write wins), as HTTP allows.
   */
  async update(caller: AuthUser, id: string, input: UpdateCustomerDto, expectedVersion?: number): Promise<Customer> {
    try {
      return await this.tx.run(async (m) => {
        const customer = await this.repository.findInOrganization(caller.organizationId, id, {
          manager: m,
          lock: true,
        });
        if (!customer) throw noSuchCustomer();
        await this.permissions.assertAllowed(caller, 'customers:update', customer.departmentId);
        if (expectedVersion !== undefined && expectedVersion !== customer.version) {
          throw new CustomerException(
            CustomerExceptionCode.VersionMismatch,
            'The customer has changed since you read it.',
            {
              currentVersion: customer.version,
            },
          );
        }
        const changes = changesOf(customer, input);
        if (changes.departmentId !== undefined) {
          // Moving a customer needs the permission where it is (checked above) and where it goes.
          await this.permissions.assertAllowedIn(caller, 'customers:update', changes.departmentId);
        }
        if (changes.ownerId) await this.requireUser(caller, changes.ownerId, m);
        if (Object.keys(changes).length === 0) return customer;
        const updated = await this.repository.update(customer, changes, m);
        await this.audit.recordChange(
          caller,
          {
            action: 'customers.update',
            resourceType: 'customers',
            resourceId: id,
            before: snapshot(customer),
            after: snapshot(updated),
          },
          m,
        );
        await this.announce(caller, id, 'update');
        return updated;
      });
    } catch (error) {
      if (isUniqueViolation(error, EMAIL_INDEX)) throw emailTaken();
      throw error;
    }
  }

  /** Soft delete: the customer disappears from every read; its email is free again until it is restored. */
  async remove(caller: AuthUser, id: string): Promise<void> {
    await this.tx.run(async (m) => {
      const customer = await this.repository.findInOrganization(caller.organizationId, id, { manager: m, lock: true });
      if (!customer) throw noSuchCustomer();
      await this.permissions.assertAllowed(caller, 'customers:delete', customer.departmentId);
      const deleted = await this.repository.update(customer, { deletedAt: new Date() }, m);
      await this.audit.recordChange(
        caller,
        {
          action: 'customers.delete',
          resourceType: 'customers',
          resourceId: id,
          before: snapshot(customer),
          after: snapshot(deleted),
        },
        m,
      );
      await this.announce(caller, id, 'delete');
    });
  }

  /** Undoes a soft delete (a live customer is returned unchanged); 409 when another live customer took the email. */
  async restore(caller: AuthUser, id: string): Promise<Customer> {
    try {
      return await this.tx.run(async (m) => {
        const customer = await this.repository.findInOrganization(caller.organizationId, id, {
          manager: m,
          lock: true,
          includeDeleted: true,
        });
        if (!customer) throw noSuchCustomer();
        await this.permissions.assertAllowed(caller, 'customers:delete', customer.departmentId, 'customers:read');
        if (customer.deletedAt === null) return customer;
        const restored = await this.repository.update(customer, { deletedAt: null }, m);
        await this.audit.recordChange(
          caller,
          {
            action: 'customers.restore',
            resourceType: 'customers',
            resourceId: id,
            before: snapshot(customer),
            after: snapshot(restored),
          },
          m,
        );
        await this.announce(caller, id, 'restore');
        return restored;
      });
    } catch (error) {
      if (isUniqueViolation(error, EMAIL_INDEX)) throw emailTaken();
      throw error;
    }
  }

  private async filtersOf(caller: AuthUser, query: ListCustomersQueryDto): Promise<CustomerListFilters> {
    const filters: CustomerListFilters = {
      statuses: query.status,
      ownerId: query.ownerId,
      tags: query.tag,
      tagMode: query.tagMode,
      createdFrom: query.createdFrom === undefined ? undefined : new Date(query.createdFrom),
      createdTo: query.createdTo === undefined ? undefined : new Date(query.createdTo),
      q: query.q?.toLowerCase(),
    };
    if (filters.createdFrom && filters.createdTo && filters.createdFrom > filters.createdTo) {
      throw new ValidationException([{ field: 'createdTo', message: 'createdTo must not be before createdFrom' }]);
    }
    if (query.departmentId)
      filters.departmentPath = await this.permissions.departmentPath(caller.organizationId, query.departmentId);
    return filters;
  }

  private async requireUser(caller: AuthUser, userId: string, m: EntityManager): Promise<void> {
    if (!(await this.repository.userExists(caller.organizationId, userId, m)))
      throw new RbacException(RbacExceptionCode.NotFound, 'No such user.', { field: 'ownerId' });
  }

  /** The audit entry of a change, in the change's transaction: both commit or neither does. */
  private async announce(caller: AuthUser, customerId: string, action: CustomerChangedEvent['action']) {
    const event: CustomerChangedEvent = { organizationId: caller.organizationId, customerId, action };
    await this.tx.afterCommit(() => this.events.emit(CUSTOMER_CHANGED, event));
  }
}

/** The fields of `input` that differ from the customer's (arrays and objects compared by value). */
function changesOf(customer: Customer, input: UpdateCustomerDto): CustomerChanges {
  const changes: CustomerChanges = {};
  const set = <K extends keyof CustomerChanges>(key: K, value: CustomerChanges[K] | undefined) => {
    if (value !== undefined && JSON.stringify(value) !== JSON.stringify(customer[key])) changes[key] = value;
  };
  set('name', input.name);
  set('email', input.email);
  set('phone', input.phone);
  set('company', input.company);
  set('status', input.status);
  set('tags', input.tags);
  set('ownerId', input.ownerId);
  set('departmentId', input.departmentId);
  set('customFields', input.customFields);
  return changes;
}
