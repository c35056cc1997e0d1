import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../../core/http/api-problems.decorator';
import { mapPage, ApiPageResponse, type Page } from '../../../core/pagination/page.dto';
import { ApiSortQuery } from '../../../core/pagination/page-query.dto';
import type { AuthUser } from '../../auth/auth-user';
import { CurrentUser } from '../../auth/auth.decorators';
import { RequirePermission } from '../decision/require-permission.decorator';
import {
  CreateDepartmentDto,
  DeleteDepartmentQueryDto,
  DepartmentDto,
  DepartmentIdParams,
  DepartmentTreeNodeDto,
  ListDepartmentsQueryDto,
  UpdateDepartmentDto,
} from './department.dto';
import { DEPARTMENT_LIST } from './department.repository';
import { DepartmentsService } from './departments.service';
import { AuditedInService } from '../../audit/audited.decorator';

@ApiTags('departments')
@ApiProblems(401)
@Controller('departments')
export class DepartmentsController {
  constructor(private readonly departments: DepartmentsService) {}

  @Get()
  @RequirePermission('departments:read')
  @ApiOperation({
    summary: 'The departments the caller can read, as a flat list',
    description: 'With departments:read organization-wide: all; with department-scoped grants: those subtrees.',
  })
  @ApiSortQuery(DEPARTMENT_LIST)
  @ApiPageResponse(DepartmentDto)
  @ApiProblems(400)
  async list(@Query() query: ListDepartmentsQueryDto, @CurrentUser() user: AuthUser): Promise<Page<DepartmentDto>> {
    return mapPage(await this.departments.list(user, query), (department) => DepartmentDto.from(department));
  }

  @Get('tree')
  @RequirePermission('departments:read')
  @ApiOperation({
    summary: 'The departments the caller can read, nested',
    description:
      'The roots are the top-most readable departments (the organization roots for organization-wide readers).',
  })
  @ApiOkResponse({ type: [DepartmentTreeNodeDto] })
  tree(@CurrentUser() user: AuthUser): Promise<DepartmentTreeNodeDto[]> {
    return this.departments.tree(user);
  }

  @Get(':id')
  @RequirePermission('departments:read')
  @ApiOperation({ summary: 'Read a department' })
  @ApiOkResponse({ type: DepartmentDto })
  @ApiProblems(400, 404)
  async get(@Param() params: DepartmentIdParams, @CurrentUser() user: AuthUser): Promise<DepartmentDto> {
    return DepartmentDto.from(await this.departments.get(user, params.id));
  }

  @Post()
  @AuditedInService('DepartmentsService, in the transaction of the change')
  @RequirePermission('departments:create')
  @ApiOperation({
    summary: 'Create a department',
    description:
      'A root department needs departments:create organization-wide; a child needs it covering the parent. ' +
      'Names are unique among siblings (409 conflict).',
  })
  @ApiCreatedResponse({ type: DepartmentDto })
  @ApiProblems(400, 404, 409)
  async create(@Body() body: CreateDepartmentDto, @CurrentUser() user: AuthUser): Promise<DepartmentDto> {
    return DepartmentDto.from(await this.departments.create(user, body));
  }

  @Patch(':id')
  @AuditedInService('DepartmentsService, in the transaction of the change')
  @RequirePermission('departments:update')
  @ApiOperation({
    summary: 'Rename or move a department',
    description:
      'Moving takes the whole subtree along and needs departments:update on the department and ' +
      'departments:create on the new parent (organization-wide for parentId null). Moving under itself or a ' +
      'descendant is a 409 department-cycle.',
  })
  @ApiOkResponse({ type: DepartmentDto })
  @ApiProblems(400, 404, 409)
  async update(
    @Param() params: DepartmentIdParams,
    @Body() body: UpdateDepartmentDto,
    @CurrentUser() user: AuthUser,
  ): Promise<DepartmentDto> {
    return DepartmentDto.from(await this.departments.update(user, params.id, body));
  }

  @Delete(':id')
  @AuditedInService('DepartmentsService, in the transaction of the change')
  @HttpCode(204)
  @RequirePermission('departments:delete')
  @ApiOperation({
    summary: 'Delete a department',
    description:
      'A department with children, members or role assignments is a 409 department-not-empty listing their ' +
      'counts, unless moveTo names where they go (needs departments:create there).',
  })
  @ApiProblems(400, 404, 409)
  async delete(
    @Param() params: DepartmentIdParams,
    @Query() query: DeleteDepartmentQueryDto,
    @CurrentUser() user: AuthUser,
  ): Promise<void> {
    await this.departments.delete(user, params.id, query.moveTo);
  }
}
