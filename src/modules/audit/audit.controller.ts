import { Controller, Get, Param, Query, type StreamableFile } from '@nestjs/common';
import { RouteSchema } from '@nestjs/platform-fastify';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { RequestTimeout } from '../../core/http/request-timeout';
import { ApiPageResponse, mapPage, type Page } from '../../core/pagination/page.dto';
import { ApiSortQuery } from '../../core/pagination/page-query.dto';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { AuditExportService } from './audit-export.service';
import { AUDIT_LOG_LIST } from './audit-log.repository';
import { AUDIT_LOG_PAGE_ROUTE_SCHEMA } from './audit-page.schema';
import { AuditPartitionsService } from './audit-partitions.service';
import {
  AuditLogDto,
  AuditLogIdParams,
  AuditPartitionsDto,
  AuditTimeRangeQueryDto,
  AuditVerifyResultDto,
  ExportAuditLogsQueryDto,
  ListAuditLogsQueryDto,
} from './audit-query.dto';
import { AuditQueryService } from './audit-query.service';
import { AuditVerifyService } from './audit-verify.service';

@ApiTags('audit')
@ApiProblems(401)
@Controller('audit-logs')
export class AuditController {
  constructor(
    private readonly query: AuditQueryService,
    private readonly exporter: AuditExportService,
    private readonly verifier: AuditVerifyService,
    private readonly partitions: AuditPartitionsService,
  ) {}

  @Get()
  @RequirePermission('audit:read', { scope: 'organization' })
  @ApiOperation({
    summary: "The organization's audit trail",
    description: 'Newest first by default. `from` is inclusive, `to` exclusive; bounds prune monthly partitions.',
  })
  @ApiSortQuery(AUDIT_LOG_LIST)
  @ApiPageResponse(AuditLogDto)
  @ApiProblems(400)
  @RouteSchema(AUDIT_LOG_PAGE_ROUTE_SCHEMA)
  async list(@Query() query: ListAuditLogsQueryDto, @CurrentUser() user: AuthUser): Promise<Page<AuditLogDto>> {
    return mapPage(await this.query.list(user, query), (entry) => AuditLogDto.from(entry));
  }

  @Get('export')
  @RequirePermission('audit:read', { scope: 'organization' })
  @RequestTimeout(30 * 60 * 1000)
  @ApiOperation({
    summary: 'Download the audit trail as CSV or NDJSON',
    description:
      'Same filters as the list, streamed in batches. CSV cells that a spreadsheet would run as a formula ' +
      '(starting with = + - @, tab or CR) get a leading apostrophe.',
  })
  @ApiProduces('text/csv', 'application/x-ndjson')
  @ApiOkResponse({ description: 'The entries, one per line (CSV with a header row)', schema: { type: 'string' } })
  @ApiProblems(400)
  export(@Query() query: ExportAuditLogsQueryDto, @CurrentUser() user: AuthUser): Promise<StreamableFile> {
    return this.exporter.export(user, query);
  }

  @Get('verify')
  @RequirePermission('audit:read', { scope: 'organization' })
  @RequestTimeout(5 * 60 * 1000)
  @ApiOperation({
    summary: "Verify the organization's hash chain",
    description:
      'Recomputes every entry in [from, to) in chain order and reports the first broken link: an edited entry ' +
      '(hash-mismatch), deleted entries (seq-gap) or a broken link (prev-hash-mismatch). The first entry of the ' +
      'range is trusted as the starting point.',
  })
  @ApiOkResponse({ type: AuditVerifyResultDto })
  @ApiProblems(400)
  verify(@Query() query: AuditTimeRangeQueryDto, @CurrentUser() user: AuthUser): Promise<AuditVerifyResultDto> {
    return this.verifier.verify(user, query);
  }

  @Get('partitions')
  @RequirePermission('audit:read', { scope: 'organization' })
  @ApiOperation({
    summary: 'The monthly partitions of the audit table',
    description: 'With row estimates, and the exact row count of the default partition (should be 0).',
  })
  @ApiOkResponse({ type: AuditPartitionsDto })
  listPartitions(): Promise<AuditPartitionsDto> {
    return this.partitions.overview();
  }

  @Get(':id')
  @RequirePermission('audit:read', { scope: 'organization' })
  @ApiOperation({ summary: 'Read one audit entry' })
  @ApiOkResponse({ type: AuditLogDto })
  @ApiProblems(400, 404)
  async get(@Param() params: AuditLogIdParams, @CurrentUser() user: AuthUser): Promise<AuditLogDto> {
    return AuditLogDto.from(await this.query.get(user, params.id));
  }
}
