import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { CustomerStatsDto } from './customer-stats.dto';
import { CustomerStatsService } from './customer-stats.service';

@ApiTags('customers')
@ApiProblems(401)
@Controller('customers/stats')
export class CustomerStatsController {
  constructor(private readonly stats: CustomerStatsService) {}

  @Get()
  @RequirePermission('customers:read')
  @ApiOperation({
    summary: 'Customer counts by status, by owner and created per week',
    description:
      'Over the live customers the caller may read. Cached; every change to the organization’s customers ' +
      'invalidates it, and the current week’s count may lag by up to CACHE_TTL_SECONDS otherwise.',
  })
  @ApiOkResponse({ type: CustomerStatsDto })
  get(@CurrentUser() caller: AuthUser): Promise<CustomerStatsDto> {
    return this.stats.stats(caller);
  }
}
