import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { AuthenticatedOnly } from '../rbac/decision/require-permission.decorator';
import { AuthRateLimit } from '../../core/rate-limit/rate-limit.decorator';
import type { AuthUser } from './auth-user';
import { AllowPendingTwoFactorSetup, CurrentUser } from './auth.decorators';
import { AuthEvent } from './auth.events';
import { AuthService } from './auth.service';
import { ClientInfo } from './client-info.decorator';
import { SessionService, type ClientInfo as Client } from './sessions/session.service';
import {
  DisableTwoFactorDto,
  EnableTwoFactorDto,
  RecoveryCodesResponseDto,
  TwoFactorSetupResponseDto,
} from './two-factor.dto';
import { TwoFactorService } from './two-factor.service';
import { Audited, AuditedInService } from '../audit/audited.decorator';

@ApiTags('auth')
@ApiBearerAuth('bearer')
@AuthenticatedOnly()
@Controller('auth/2fa')
export class TwoFactorController {
  constructor(
    private readonly twoFactor: TwoFactorService,
    private readonly sessions: SessionService,
    private readonly auth: AuthService,
  ) {}

  @Post('setup')
  @Audited({ action: 'auth.two-factor.setup', resourceType: 'users' })
  @HttpCode(200)
  @AllowPendingTwoFactorSetup()
  @ApiOperation({ summary: 'Start TOTP setup: a new secret, otpauth URI and QR code (not active until enabled)' })
  @ApiOkResponse({ type: TwoFactorSetupResponseDto })
  @ApiProblems(401, 409)
  setup(@CurrentUser() user: AuthUser): Promise<TwoFactorSetupResponseDto> {
    return this.twoFactor.setup(user.id);
  }

  @Post('enable')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(200)
  @AllowPendingTwoFactorSetup()
  @AuthRateLimit()
  @ApiOperation({ summary: 'Confirm setup with a current code; returns 10 recovery codes' })
  @ApiOkResponse({ type: RecoveryCodesResponseDto })
  @ApiProblems(400, 401, 409, 429)
  async enable(
    @Body() body: EnableTwoFactorDto,
    @CurrentUser() user: AuthUser,
    @ClientInfo() client: Client,
  ): Promise<RecoveryCodesResponseDto> {
    const recoveryCodes = await this.twoFactor.enable(user.id, body.code);
    await this.sessions.clearMfaSetupRequirement(user.id);
    await this.auth.emit(
      AuthEvent.TwoFactorEnabled,
      { organizationId: user.organizationId, userId: user.id, sessionId: user.sessionId },
      client,
    );
    return { recoveryCodes };
  }

  @Post('disable')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(204)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Turn 2FA off (needs a current code or the password, and a recent step-up)',
    description: 'A wrong code (401) or password (403 invalid-current-password) counts towards the account lockout.',
  })
  @ApiProblems(400, 401, 403, 409, 423, 429)
  async disable(
    @Body() body: DisableTwoFactorDto,
    @CurrentUser() user: AuthUser,
    @ClientInfo() client: Client,
  ): Promise<void> {
    await this.sessions.requireRecentStepUp(user.sessionId);
    await this.auth.disableTwoFactor(user.id, body, client);
    await this.auth.emit(
      AuthEvent.TwoFactorDisabled,
      { organizationId: user.organizationId, userId: user.id, sessionId: user.sessionId },
      client,
    );
  }
}
