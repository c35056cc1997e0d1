import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { ApiPageResponse, type Page } from '../../core/pagination/page.dto';
import { ApiSortQuery } from '../../core/pagination/page-query.dto';
import { AuditedInService } from '../audit/audited.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import {
  CreateCustomerActivityDto,
  CustomerActivityDto,
  CustomerIdParams,
  ListCustomerActivitiesQueryDto,
} from './customer-activity.dto';
import { CUSTOMER_ACTIVITY_LIST } from './customer-activity.repository';
import { CustomerActivityService } from './customer-activity.service';

@ApiTags('customers')
@ApiProblems(401)
@Controller('customers/:id/activities')
export class CustomerActivityController {
  constructor(private readonly activities: CustomerActivityService) {}

  @Get()
  @RequirePermission('customers:read')
  @ApiOperation({
    summary: "A customer's timeline",
    description: 'Calls, emails, meetings and notes, newest first (by occurredAt). A deleted customer is a 404.',
  })
  @ApiSortQuery(CUSTOMER_ACTIVITY_LIST)
  @ApiPageResponse(CustomerActivityDto)
  @ApiProblems(400, 404)
  list(
    @Param() { id }: CustomerIdParams,
    @Query() query: ListCustomerActivitiesQueryDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<Page<CustomerActivityDto>> {
    return this.activities.list(caller, id, query);
  }

  @Post()
  @RequirePermission('customers:update')
  @AuditedInService('CustomerActivityService.create records customers.activity.create in its transaction')
  @ApiOperation({
    summary: "Add an activity to a customer's timeline",
    description: "Needs customers:update on the customer's department. A deleted customer is a 404.",
  })
  @ApiCreatedResponse({ type: CustomerActivityDto })
  @ApiProblems(400, 403, 404)
  create(
    @Param() { id }: CustomerIdParams,
    @Body() body: CreateCustomerActivityDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<CustomerActivityDto> {
    return this.activities.create(caller, id, body);
  }
}
