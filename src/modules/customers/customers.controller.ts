import { Idempotent } from '../../core/idempotency/idempotent.decorator';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { RouteSchema } from '@nestjs/platform-fastify';
import type { FastifyReply } from 'fastify';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { versionEtag, versionFromIfMatch } from '../../core/http/etag';
import { ApiPageResponse, type Page } from '../../core/pagination/page.dto';
import { ApiSortQuery } from '../../core/pagination/page-query.dto';
import { AuditedInService } from '../audit/audited.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import {
  CreateCustomerDto,
  CustomerDto,
  CustomerIdParams,
  ListCustomersQueryDto,
  UpdateCustomerDto,
} from './customer.dto';
import type { Customer } from './customer.entity';
import { CustomerException, CustomerExceptionCode } from './customer.exception';
import { CUSTOMER_PAGE_ROUTE_SCHEMA } from './customer-page.schema';
import { CUSTOMER_LIST } from './customers.repository';
import { CustomersService } from './customers.service';

const ETAG_HEADER = { ETag: { description: 'The version of the customer, for If-Match', schema: { type: 'string' } } };
const AUDITED_HOW = 'CustomersService, in the change transaction (before/after)';

@ApiTags('customers')
@ApiProblems(401)
@Controller('customers')
export class CustomersController {
  constructor(private readonly customers: CustomersService) {}

  @Get()
  @RequirePermission('customers:read')
  @ApiOperation({
    summary: 'List or search customers',
    description:
      'Only live customers in departments where the caller holds customers:read; organization-level customers ' +
      'only with an organization-wide grant. Filters combine with AND. Without `q`: keyset pages in the ' +
      'requested sort (cost independent of depth). With `q`: customers containing its words, ranked by ' +
      'relevance (best first, then id), or, only when no customer contains them, typo-tolerant matches ' +
      '(trigram similarity); the cursor continues the ranking and that choice, and every page re-ranks all matches of ' +
      '`q`, so a very unselective `q` is slower than a narrow one.',
  })
  @ApiSortQuery(CUSTOMER_LIST)
  @ApiPageResponse(CustomerDto)
  @ApiProblems(400)
  @RouteSchema(CUSTOMER_PAGE_ROUTE_SCHEMA)
  list(@Query() query: ListCustomersQueryDto, @CurrentUser() caller: AuthUser): Promise<Page<CustomerDto>> {
    return this.customers.list(caller, query);
  }

  @Post()
  @Idempotent()
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('customers:create')
  @ApiOperation({
    summary: 'Create a customer',
    description:
      'Needs customers:create in the department, organization-wide for an organization-level customer. ' +
      'The email must not belong to another live customer of the organization (409 naming `email`).',
  })
  @ApiCreatedResponse({ type: CustomerDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404, 409)
  async create(
    @Body() body: CreateCustomerDto,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CustomerDto> {
    return withEtag(reply, await this.customers.create(caller, body));
  }

  @Get(':id')
  @RequirePermission('customers:read')
  @ApiOperation({ summary: 'One customer', description: 'Deleted customers are 404 (restore them first).' })
  @ApiOkResponse({ type: CustomerDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404)
  async get(
    @Param() { id }: CustomerIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CustomerDto> {
    return withEtag(reply, await this.customers.get(caller, id));
  }

  @Patch(':id')
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('customers:update')
  @ApiOperation({
    summary: 'Change a customer',
    description:
      'Send the ETag of your last read as If-Match: if the customer changed since, nothing is written and the ' +
      'answer is 412. Without If-Match the change applies to the current version (last write wins). A move ' +
      'needs customers:update on the current and on the new department.',
  })
  @ApiHeader({
    name: 'If-Match',
    required: false,
    description: 'The ETag of GET /customers/:id; a stale one is a 412. Omitted: no precondition.',
  })
  @ApiOkResponse({ type: CustomerDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404, 409, 412)
  async update(
    @Param() { id }: CustomerIdParams,
    @Body() body: UpdateCustomerDto,
    @Headers('if-match') ifMatch: string | undefined,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CustomerDto> {
    return withEtag(reply, await this.customers.update(caller, id, body, versionFromIfMatch(ifMatch, staleIfMatch)));
  }

  @Delete(':id')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(204)
  @RequirePermission('customers:delete')
  @ApiOperation({
    summary: 'Delete a customer (soft)',
    description: 'The customer disappears from every read and frees its email; POST /customers/:id/restore undoes it.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404)
  remove(@Param() { id }: CustomerIdParams, @CurrentUser() caller: AuthUser): Promise<void> {
    return this.customers.remove(caller, id);
  }

  @Post(':id/restore')
  @AuditedInService(AUDITED_HOW)
  @HttpCode(200)
  @RequirePermission('customers:delete')
  @ApiOperation({
    summary: 'Restore a deleted customer',
    description:
      'Needs customers:delete. 409 naming `email` when another live customer has taken its email meanwhile. ' +
      'Restoring a customer that is not deleted returns it unchanged.',
  })
  @ApiOkResponse({ type: CustomerDto, headers: ETAG_HEADER })
  @ApiProblems(400, 404, 409)
  async restore(
    @Param() { id }: CustomerIdParams,
    @CurrentUser() caller: AuthUser,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CustomerDto> {
    return withEtag(reply, await this.customers.restore(caller, id));
  }
}

const staleIfMatch = () =>
  new CustomerException(CustomerExceptionCode.VersionMismatch, 'If-Match does not name a version of this customer.');

function withEtag(reply: FastifyReply, customer: Customer): CustomerDto {
  void reply.header('ETag', versionEtag(customer));
  return CustomerDto.from(customer);
}
