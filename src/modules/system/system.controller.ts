import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { CreatePingDto, PingIdParams, SystemPingDto } from './system-ping.dto';
import { SystemService } from './system.service';
import { Audited } from '../audit/audited.decorator';

@ApiTags('system')
@RequirePermission('organizations:update')
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
  async create(@Body() body: CreatePingDto): Promise<SystemPingDto> {
    return SystemPingDto.from(await this.system.requestPing(body.holdMs ?? 0));
  }

  @Get(':id')
  @ApiOperation({ summary: 'Read a ping' })
  @ApiOkResponse({ type: SystemPingDto })
  @ApiProblems(400, 404)
  async get(@Param() params: PingIdParams): Promise<SystemPingDto> {
    return SystemPingDto.from(await this.system.getPing(params.id));
  }
}
