import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiExtraModels,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { Public } from '../../core/http/public.decorator';
import { AuthRateLimit } from '../../core/rate-limit/rate-limit.decorator';
import { AccountService } from './account.service';
import {
  MfaRequiredResponseDto,
  OtpRequestDto,
  OtpVerifiedResponseDto,
  OtpVerifyDto,
  PasswordResetDto,
  TokenResponseDto,
} from './auth.dto';
import { AuthException, AuthExceptionCode } from './auth.exception';
import type { LoginResult } from './auth.service';
import { ClientInfo } from './client-info.decorator';
import { EmailOtpService } from './email-otp.service';
import type { ClientInfo as Client } from './sessions/session.service';
import { Audited, AuditedInService } from '../audit/audited.decorator';

@ApiTags('auth')
@Public()
@Controller('auth')
export class OtpController {
  constructor(
    private readonly otps: EmailOtpService,
    private readonly account: AccountService,
  ) {}

  @Post('otp/request')
  @Audited({ action: 'auth.otp.requested', resourceType: 'users' })
  @HttpCode(202)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Mail a six-digit code (login, verify_email, reset_password)',
    description: 'Always 202, whether or not an account exists. A new request replaces the previous code.',
  })
  @ApiAcceptedResponse({ description: 'A code is on its way if the account exists' })
  @ApiProblems(400, 429)
  async request(@Body() body: OtpRequestDto): Promise<void> {
    await this.otps.request(body.email, body.purpose);
  }

  @Post('otp/verify')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(200)
  @AuthRateLimit()
  @ApiOperation({
    summary: 'Use a mailed code',
    description:
      'purpose login → a token pair (or `{ mfaRequired, mfaToken }` when 2FA is on); verify_email → `{ verified: true }`; ' +
      'reset_password codes are used with POST /auth/password/reset.',
  })
  @ApiExtraModels(TokenResponseDto, MfaRequiredResponseDto, OtpVerifiedResponseDto)
  @ApiOkResponse({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(TokenResponseDto) },
        { $ref: getSchemaPath(MfaRequiredResponseDto) },
        { $ref: getSchemaPath(OtpVerifiedResponseDto) },
      ],
    },
  })
  @ApiProblems(400, 403, 429)
  async verify(
    @Body() body: OtpVerifyDto,
    @ClientInfo() client: Client,
  ): Promise<LoginResult | OtpVerifiedResponseDto> {
    switch (body.purpose) {
      case 'login':
        return this.account.loginWithCode(body.email, body.code, client);
      case 'verify_email':
        await this.account.verifyEmail(body.email, body.code, client);
        return { verified: true };
      case 'reset_password':
        throw new AuthException(
          AuthExceptionCode.InvalidCode,
          'Use reset_password codes with POST /api/v1/auth/password/reset.',
        );
    }
  }

  @Post('password/reset')
  @AuditedInService('auth events (AuditEventsListener)')
  @HttpCode(204)
  @AuthRateLimit()
  @ApiOperation({ summary: 'Set a new password with a mailed reset_password code; every session is revoked' })
  @ApiNoContentResponse({ description: 'Password changed' })
  @ApiProblems(400, 429)
  async reset(@Body() body: PasswordResetDto, @ClientInfo() client: Client): Promise<void> {
    await this.account.resetPassword(body.email, body.code, body.newPassword, client);
  }
}
