import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TypeOrmHealthIndicator, type HealthIndicatorResult } from '@nestjs/terminus';
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

/** Like terminus's HealthCheckResult, plus 'degraded': serving, with a non-essential dependency down. */
interface ReadyResult {
  status: 'ok' | 'degraded';
  info: HealthIndicatorResult;
  error: HealthIndicatorResult;
  details: HealthIndicatorResult;
}

@ApiTags('health')
@Public()
@SkipRateLimit()
@Controller('health')
export class HealthController {
  constructor(
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
      'PostgreSQL answers and the process is not draining for shutdown; 503 otherwise, naming the failing checks. ' +
      'Redis is reported but does not fail readiness: without it the API keeps serving (sessions and permissions ' +
      'from PostgreSQL, rate limits per process), so the answer is 200 with status "degraded" naming redis — ' +
      'a Redis outage must not take every instance out of the load balancer at once.',
  })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['status', 'info', 'error', 'details'],
      properties: {
        status: { type: 'string', enum: ['ok', 'degraded'] },
        info: { type: 'object', description: 'The checks that are up' },
        error: { type: 'object', description: 'The checks that are down (only redis can be, with a 200)' },
        details: { type: 'object', description: 'Every check: { status: "up" | "down", message? }' },
      },
      example: READY_EXAMPLE,
    },
  })
  @ApiProblems(503)
  async ready(): Promise<ReadyResult> {
    if (this.shutdown.isDraining) throw new AppException('shutting-down', 503, 'The service is shutting down.');
    const [database, redis] = await Promise.all([
      this.database.pingCheck('database', { timeout: 1500 }),
      this.redis.check('redis'),
    ]);
    const details: HealthIndicatorResult = { ...database, ...redis };
    const down = Object.keys(details).filter((key) => details[key]?.status !== 'up');
    if (down.includes('database')) {
      throw new AppException('not-ready', 503, `Unavailable: ${down.join(', ')}.`, { checks: details });
    }
    const info = Object.fromEntries(Object.entries(details).filter(([key]) => !down.includes(key)));
    const error = Object.fromEntries(Object.entries(details).filter(([key]) => down.includes(key)));
    return { status: down.length === 0 ? 'ok' : 'degraded', info, error, details };
  }
}
