import { Controller, Get, ServiceUnavailableException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { HealthCheckService, TypeOrmHealthIndicator, type HealthCheckResult } from '@nestjs/terminus';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { Public } from '../../core/http/public.decorator';
import { SkipRateLimit } from '../../core/rate-limit/rate-limit.decorator';
import { AppException } from '../../core/exceptions/app.exception';
import { ShutdownState } from '../../core/lifecycle/shutdown-state';
import { RedisHealthIndicator } from './redis.health';

const READY_EXAMPLE = {
  status: 'ok',
  info: { database: { status: 'up' }, redis: { status: 'up' } },
  error: {},
  details: { database: { status: 'up' }, redis: { status: 'up' } },
};

@ApiTags('health')
@Public()
@SkipRateLimit()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: TypeOrmHealthIndicator,
    private readonly redis: RedisHealthIndicator,
    private readonly shutdown: ShutdownState,
  ) {}

  @Get('live')
  @ApiOperation({
    summary: 'Liveness probe',
    description: 'The process runs and answers; never depends on other services.',
  })
  @ApiOkResponse({ schema: { type: 'object', properties: { status: { type: 'string', enum: ['ok'] } } } })
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({
    summary: 'Readiness probe',
    description:
      'PostgreSQL and Redis answer and the process is not draining for shutdown. 503 otherwise, naming the failing checks.',
  })
  @ApiOkResponse({ schema: { type: 'object', example: READY_EXAMPLE } })
  @ApiProblems(503)
  async ready(): Promise<HealthCheckResult> {
    if (this.shutdown.isDraining) throw new AppException('shutting-down', 503, 'The service is shutting down.');
    try {
      return await this.health.check([
        () => this.database.pingCheck('database', { timeout: 1500 }),
        () => this.redis.check('redis'),
      ]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      const result = error.getResponse() as HealthCheckResult;
      const down = Object.keys(result.error ?? {});
      throw new AppException('not-ready', 503, `Unavailable: ${down.join(', ')}.`, { checks: result.details });
    }
  }
}
