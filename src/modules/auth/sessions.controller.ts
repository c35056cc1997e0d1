import { Controller, Delete, Get, HttpCode, Param } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { AuthenticatedOnly } from '../rbac/decision/require-permission.decorator';
import type { AuthUser } from './auth-user';
import { CurrentUser } from './auth.decorators';
import { SessionDto, SessionIdParams } from './auth.dto';
import { AuthEvent } from './auth.events';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { AuthService } from './auth.service';
import { ClientInfo } from './client-info.decorator';
import { SessionService, type ClientInfo as Client } from './sessions/session.service';
import { AuditedInService } from '../audit/audited.decorator';

@ApiTags('auth')
@ApiBearerAuth('bearer')
@AuthenticatedOnly()
@Controller('auth/sessions')
export class SessionsController {
  constructor(
    private readonly sessions: SessionService,
    private readonly auth: AuthService,
  ) {}

  @Get()
  @ApiOperation({ summary: "Your active sessions (devices), newest first; `current` marks this request's session" })
  @ApiOkResponse({ type: [SessionDto] })
  @ApiProblems(401)
  async list(@CurrentUser() user: AuthUser): Promise<SessionDto[]> {
    return (await this.sessions.listActive(user.id)).map((s) => SessionDto.from(s, user.sessionId));
  }

  @Delete(':id')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(204)
  @ApiOperation({ summary: 'Revoke one of your sessions; its access and refresh tokens stop working at once' })
  @ApiProblems(400, 401, 404)
  async revoke(
    @Param() params: SessionIdParams,
    @CurrentUser() user: AuthUser,
    @ClientInfo() client: Client,
  ): Promise<void> {
    if (!(await this.sessions.revoke(user.id, params.id, 'revoked-by-user'))) {
      throw new AuthException(AuthExceptionCode.SessionNotFound, 'No such active session.');
    }
    await this.auth.emit(
      AuthEvent.SessionRevoked,
      { organizationId: user.organizationId, userId: user.id, sessionId: params.id, reason: 'revoked-by-user' },
      client,
    );
  }
}
