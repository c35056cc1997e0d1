import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiNoContentResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { AuthenticatedOnly } from '../rbac/decision/require-permission.decorator';
import { AuthRateLimit } from '../../core/rate-limit/rate-limit.decorator';
import { AccountService } from './account.service';
import type { AuthUser } from './auth-user';
import { CurrentUser } from './auth.decorators';
import { EmailChangeDto, PasswordChangeDto } from './auth.dto';
import { ClientInfo } from './client-info.decorator';
import type { ClientInfo as Client } from './sessions/session.service';
import { AuditedInService } from '../audit/audited.decorator';

@ApiTags('auth')
@ApiBearerAuth('bearer')
@AuthenticatedOnly()
@Controller('auth')
export class AccountController {
  constructor(private readonly account: AccountService) {}

  @Post('password/change')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(204)
  @AuthRateLimit()
  @ApiOperation({ summary: 'Change your password (needs the current one); your other sessions are revoked' })
  @ApiNoContentResponse({ description: 'Password changed' })
  @ApiProblems(400, 401, 403, 423, 429)
  async changePassword(
    @Body() body: PasswordChangeDto,
    @CurrentUser() user: AuthUser,
    @ClientInfo() client: Client,
  ): Promise<void> {
    await this.account.changePassword(user, body.currentPassword, body.newPassword, client);
  }

  @Post('email/change')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(204)
  @ApiOperation({
    summary: 'Change your email address (needs a recent step-up); a verification code is mailed to the new one',
  })
  @ApiNoContentResponse({ description: 'Email changed, verification pending' })
  @ApiProblems(400, 401, 403, 409)
  async changeEmail(
    @Body() body: EmailChangeDto,
    @CurrentUser() user: AuthUser,
    @ClientInfo() client: Client,
  ): Promise<void> {
    await this.account.changeEmail(user, body.newEmail, client);
  }
}
