import { Body, Controller, Delete, Get, HttpCode, Patch } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { AuthEvent } from '../auth/auth.events';
import { AuthService } from '../auth/auth.service';
import { ClientInfo } from '../auth/client-info.decorator';
import { SessionService, type ClientInfo as Client } from '../auth/sessions/session.service';
import { OrganizationDto, UpdateOrganizationDto } from './organization.dto';
import { OrganizationsService } from './organizations.service';
import { Audited, AuditedInService } from '../audit/audited.decorator';

@ApiTags('organizations')
@ApiBearerAuth('bearer')
@ApiProblems(401)
@Controller('organizations/current')
export class OrganizationsController {
  constructor(
    private readonly organizations: OrganizationsService,
    private readonly sessions: SessionService,
    private readonly auth: AuthService,
    private readonly tx: TransactionRunner,
  ) {}

  @Get()
  @RequirePermission('organizations:read', { scope: 'organization' })
  @ApiOperation({ summary: "The caller's organization" })
  @ApiOkResponse({ type: OrganizationDto })
  async get(@CurrentUser() user: AuthUser): Promise<OrganizationDto> {
    return OrganizationDto.from(await this.organizations.get(user.organizationId));
  }

  @Patch()
  @Audited({ action: 'organizations.update', resourceType: 'organizations' })
  @RequirePermission('organizations:update', { scope: 'organization' })
  @ApiOperation({ summary: 'Rename the organization or require 2FA of its members' })
  @ApiOkResponse({ type: OrganizationDto })
  @ApiProblems(400, 403)
  async update(@Body() body: UpdateOrganizationDto, @CurrentUser() user: AuthUser): Promise<OrganizationDto> {
    await this.organizations.update(user.organizationId, body);
    return OrganizationDto.from(await this.organizations.get(user.organizationId));
  }

  @Delete()
  @AuditedInService('auth.organization.deleted event, in the transaction of the delete')
  @HttpCode(204)
  @RequirePermission('organizations:delete', { scope: 'organization' })
  @ApiOperation({ summary: 'Delete the organization and all its data (needs a recent step-up)' })
  @ApiProblems(403)
  async delete(@CurrentUser() user: AuthUser, @ClientInfo() client: Client): Promise<void> {
    await this.sessions.requireRecentStepUp(user.sessionId);
    // Every member's access tokens must die with the organization, not when the session cache expires.
    await this.sessions.revokeAllForOrganization(user.organizationId, 'organization-deleted');
    await this.tx.run(async (m) => {
      // Recorded first, in the delete's transaction: the entry exists if and only if the organization is gone.
      // audit_logs has no foreign key to organizations, so the organization's audit chain outlives it.
      await this.auth.emit(
        AuthEvent.OrganizationDeleted,
        { organizationId: user.organizationId, userId: user.id },
        client,
      );
      await this.organizations.delete(user.organizationId, m);
    });
  }
}
