import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiBearerAuth,
  ApiCreatedResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { AuthRateLimit } from '../../core/rate-limit/rate-limit.decorator';
import { AuthenticatedOnly } from '../rbac/decision/require-permission.decorator';
import { UsersService } from '../users/users.service';
import type { AuthUser } from './auth-user';
import { Public } from '../../core/http/public.decorator';
import { AllowPendingTwoFactorSetup, CurrentUser } from './auth.decorators';
import {
  LoginDto,
  LoginTwoFactorDto,
  MeResponseDto,
  MfaRequiredResponseDto,
  RefreshTokenDto,
  RegisterDto,
  StepUpDto,
  TokenResponseDto,
} from './auth.dto';
import { AuthEvent } from './auth.events';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { AuthService, type LoginResult } from './auth.service';
import { ClientInfo } from './client-info.decorator';
import { SessionService, type ClientInfo as Client, type TokenPair } from './sessions/session.service';
import { Audited, AuditedInService } from '../audit/audited.decorator';

@ApiTags('auth')
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly sessions: SessionService,
    private readonly users: UsersService,
  ) {}

  @Post('register')
  @AuditedInService('auth events (AuditEventsListener)')
  @Public()
  @AuthRateLimit()
  @ApiOperation({ summary: 'Create an organization and its owner, and log the owner in' })
  @ApiCreatedResponse({ type: TokenResponseDto })
  @ApiProblems(400, 403, 409, 429, 503)
  register(@Body() body: RegisterDto, @ClientInfo() client: Client): Promise<TokenPair> {
    return this.auth.register(body, client);
  }

  @Post('login')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(200)
  @Public()
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Log in with email and password',
    description:
      'Returns a token pair, or `{ mfaRequired: true, mfaToken }` when 2FA is on (complete with POST /auth/login/2fa). ' +
      'Wrong email and wrong password answer alike (401 invalid-credentials); locked (423), disabled and unverified (403) accounts are refused. ' +
      '503 password-check-busy (with Retry-After) when too many password checks are already waiting.',
  })
  @ApiExtraModels(TokenResponseDto, MfaRequiredResponseDto)
  @ApiOkResponse({
    schema: { oneOf: [{ $ref: getSchemaPath(TokenResponseDto) }, { $ref: getSchemaPath(MfaRequiredResponseDto) }] },
  })
  @ApiProblems(400, 401, 403, 423, 429, 503)
  login(@Body() body: LoginDto, @ClientInfo() client: Client): Promise<LoginResult> {
    return this.auth.login(body.email, body.password, client);
  }

  @Post('login/2fa')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(200)
  @Public()
  @AuthRateLimit()
  @ApiOperation({ summary: 'Complete a 2FA login with a TOTP code or a recovery code' })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiProblems(400, 401, 403, 423, 429)
  loginTwoFactor(@Body() body: LoginTwoFactorDto, @ClientInfo() client: Client): Promise<TokenPair> {
    return this.auth.loginWithTwoFactor(body.mfaToken, body.code, client);
  }

  @Post('refresh')
  // Routine rotation is not an auditable change; a reused token is (auth.refresh-token.reused).
  @AuditedInService('auth events: auth.refresh-token.reused, auth.session.revoked')
  @HttpCode(200)
  @Public()
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Rotate a refresh token for a new pair',
    description:
      'The presented token stops working. Presented again within a few seconds (parallel tabs) it returns the same new pair; ' +
      'later, it is treated as stolen: the whole session is revoked (401 refresh-token-reused).',
  })
  @ApiOkResponse({ type: TokenResponseDto })
  @ApiProblems(400, 401, 429)
  async refresh(@Body() body: RefreshTokenDto, @ClientInfo() client: Client): Promise<TokenPair> {
    const outcome = await this.sessions.refresh(body.refreshToken);
    if ('pair' in outcome) return outcome.pair;
    const who = {
      organizationId: outcome.reusedSession.organizationId,
      userId: outcome.reusedSession.userId,
      sessionId: outcome.reusedSession.id,
    };
    await this.auth.emit(AuthEvent.RefreshTokenReused, who, client);
    await this.auth.emit(AuthEvent.SessionRevoked, { ...who, reason: 'refresh-token-reuse' }, client);
    throw new AuthException(
      AuthExceptionCode.RefreshTokenReused,
      'This refresh token was already used: the session is revoked.',
    );
  }

  @Post('logout')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(204)
  @AuthenticatedOnly()
  @AllowPendingTwoFactorSetup()
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'End the session of the given refresh token (its access tokens stop working at once)' })
  @ApiProblems(400, 401)
  async logout(
    @Body() body: RefreshTokenDto,
    @CurrentUser() user: AuthUser,
    @ClientInfo() client: Client,
  ): Promise<void> {
    const sessionId = await this.sessions.revokeByRefreshToken(body.refreshToken, user.id);
    if (sessionId) {
      await this.auth.emit(
        AuthEvent.SessionRevoked,
        { organizationId: user.organizationId, userId: user.id, sessionId, reason: 'logout' },
        client,
      );
    }
  }

  @Post('step-up')
  @Audited({ action: 'auth.step-up', resourceType: 'sessions' })
  @HttpCode(204)
  @AuthenticatedOnly()
  @AuthRateLimit()
  @ApiBearerAuth('bearer')
  @ApiOperation({
    summary: 'Confirm your password or a TOTP code again before a sensitive action',
    description:
      'Sensitive actions (disable 2FA, change email, delete the organization) need a step-up in the last few minutes.',
  })
  @ApiProblems(400, 401, 403, 423, 429)
  async stepUp(@Body() body: StepUpDto, @CurrentUser() user: AuthUser, @ClientInfo() client: Client): Promise<void> {
    await this.auth.stepUp(user.id, user.sessionId, body, client);
  }

  @Get('me')
  @AuthenticatedOnly()
  @AllowPendingTwoFactorSetup()
  @ApiBearerAuth('bearer')
  @ApiOperation({ summary: 'The authenticated user' })
  @ApiOkResponse({ type: MeResponseDto })
  @ApiProblems(401)
  async me(@CurrentUser() current: AuthUser): Promise<MeResponseDto> {
    const user = await this.users.findById(current.id);
    if (!user) throw new AuthException(AuthExceptionCode.InvalidToken, 'The account no longer exists.');
    return {
      id: user.id,
      organizationId: user.organizationId,
      email: user.email,
      name: user.name,
      status: user.status,
      emailVerified: user.emailVerifiedAt !== null,
      twoFactorEnabled: user.totpEnabledAt !== null,
      sessionId: current.sessionId,
    };
  }
}
