import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBody, ApiConsumes, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { AuditedInService } from '../audit/audited.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { CustomerImportDto, CustomerImportIdParams, StartCustomerImportQueryDto } from './customer-import.dto';
import { CustomerImportService } from './customer-import.service';

@ApiTags('customers')
@ApiProblems(401)
@Controller('customers')
export class CustomerImportController {
  constructor(private readonly imports: CustomerImportService) {}

  @Post('import')
  @HttpCode(202)
  @RequirePermission('customers:create')
  @AuditedInService('the worker (CustomerImportJobService) records customers.import with the counts on completion')
  @ApiOperation({
    summary: 'Import customers from a CSV file',
    description:
      'The body is the file itself, `Content-Type: text/csv`, at most CUSTOMER_IMPORT_MAX_BYTES (413 above). ' +
      'RFC 4180 CSV, UTF-8; the first row names the columns, in any order: name (required), email, phone, ' +
      'company, status (lead, prospect, active or churned; lead when empty), tags (separated by `;`). The file ' +
      'and header are checked here (400 naming `csv` or `header`); the rows are validated and inserted by the ' +
      'worker: poll GET /customers/imports/{id}. Rows with errors, or with an email already used in the file or ' +
      'by a customer of the organization, are skipped and listed with their row number and field. Needs ' +
      'customers:create on `departmentId` (organization-wide without one).',
  })
  @ApiConsumes('text/csv')
  @ApiBody({
    schema: { type: 'string', example: 'name,email,status,tags\r\nAda Lovelace,ada@example.com,lead,vip;b2b\r\n' },
  })
  @ApiAcceptedResponse({ type: CustomerImportDto })
  @ApiProblems(400, 403, 404, 413, 415)
  start(
    @Body() body: unknown,
    @Query() query: StartCustomerImportQueryDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<CustomerImportDto> {
    return this.imports.start(caller, body, query.departmentId);
  }

  @Get('imports/:id')
  @RequirePermission('customers:read')
  @ApiOperation({
    summary: 'Progress and row errors of an import',
    description: 'queued → running → completed (or failed when the job gave up). processedRows counts up to totalRows.',
  })
  @ApiOkResponse({ type: CustomerImportDto })
  @ApiProblems(400, 404)
  get(@Param() { id }: CustomerImportIdParams, @CurrentUser() caller: AuthUser): Promise<CustomerImportDto> {
    return this.imports.get(caller, id);
  }
}
