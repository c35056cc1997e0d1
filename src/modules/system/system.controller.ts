import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { CreatePingDto, PingIdParams, SystemPingDto } from './system-ping.dto';
import { SystemService } from './system.service';
import { Audited } from '../audit/audited.decorator';

@ApiTags('system')
@RequirePermission('organizations:update', { scope: 'organization' })
@ApiProblems(401)
@Controller('system/pings')
export class SystemController {
  constructor(private readonly system: SystemService) {}

  @Post()
  @Audited({ action: 'system-pings.create', resourceType: 'system-pings' })
  @HttpCode(202)
  @ApiOperation({
    summary: 'Send a ping through the queue to the worker',
    description:
      'Shows that API, Redis queue and worker cooperate. Poll GET /system/pings/{id} until status is processed.',
  })
  @ApiAcceptedResponse({ type: SystemPingDto })
  @ApiProblems(400)
  async create(@Body() body: CreatePingDto, @CurrentUser() user: AuthUser): Promise<SystemPingDto> {
    return SystemPingDto.from(await this.system.requestPing(user.organizationId, body.holdMs ?? 0));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a ping' })
  @ApiOkResponse({ type: SystemPingDto })
  @ApiProblems(400, 404)
  async get(@Param() params: PingIdParams, @CurrentUser() user: AuthUser): Promise<SystemPingDto> {
    return SystemPingDto.from(await this.system.getPing(user.organizationId, params.id));
  }
}
