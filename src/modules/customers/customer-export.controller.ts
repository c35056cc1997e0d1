import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { RequestTimeout } from '../../core/http/request-timeout';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import { ExportCustomersQueryDto } from './customer-export.dto';
import { CustomerExportService } from './customer-export.service';

@ApiTags('customers')
@ApiProblems(401)
@Controller('customers/export')
export class CustomerExportController {
  constructor(private readonly exporter: CustomerExportService) {}

  @Get()
  @RequirePermission('customers:read')
  @RequestTimeout(30 * 60 * 1000)
  @ApiOperation({
    summary: 'Download customers as CSV',
    description:
      'The live customers the caller may read, filtered, oldest first, streamed in batches. Columns: id, name, ' +
      'email, phone, company, status, tags (separated by ;), ownerId, departmentId, createdAt, updatedAt. ' +
      'Cells a spreadsheet would run as a formula (starting with = + - @, tab or CR) get a leading apostrophe.',
  })
  @ApiProduces('text/csv')
  @ApiOkResponse({ description: 'CSV with a header row', schema: { type: 'string' } })
  @ApiProblems(400)
  export(@Query() query: ExportCustomersQueryDto, @CurrentUser() caller: AuthUser): Promise<StreamableFile> {
    return this.exporter.export(caller, query);
  }
}
