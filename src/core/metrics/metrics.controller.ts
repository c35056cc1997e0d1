import { Controller, Get, Header, NotFoundException } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { AppConfig } from '../../config/app.config';
import { ApiProblems } from '../http/api-problems.decorator';
import { Public } from '../http/public.decorator';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator';
import { MetricsService } from './metrics.service';

@ApiTags('health')
@Public()
@SkipRateLimit()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    private readonly config: AppConfig,
  ) {}

  @Get()
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({
    summary: 'Prometheus metrics',
    description:
      'HTTP duration histogram by route and status, queue depth, process metrics. 404 when METRICS_ENABLED=false.',
  })
  @ApiProduces('text/plain')
  @ApiOkResponse({ schema: { type: 'string' } })
  @ApiProblems(404)
  scrape(): Promise<string> {
    if (!this.config.http.metricsEnabled) throw new NotFoundException('Metrics are disabled.');
    return this.metrics.registry.metrics();
  }
}
