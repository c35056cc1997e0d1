import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsIn, IsOptional, IsString, IsUUID, Length, MaxLength, MinLength } from 'class-validator';
import { normalizeEmail, trim } from '../../core/http/transforms';
import type { Session } from './sessions/session.entity';

export class RegisterDto {
  /** @example Acme Corporation */
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  organizationName: string;

  /** @example Ada Lovelace */
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name: string;

  /** @example ada@acme.example */
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  /**
   * 12–128 characters, not a common password.
   * @example correct-horse-battery-staple
   */
  @IsString()
  @MaxLength(1024)
  password: string;
}

export class LoginDto {
  /** @example ada@acme.example */
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  /** @example correct-horse-battery-staple */
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  password: string;
}

export class LoginTwoFactorDto {
  /** The mfaToken from the login response (single use, short-lived). */
  @IsString()
  @Length(16, 256)
  mfaToken: string;

  /**
   * A current TOTP code, or one of the recovery codes.
   * @example 123456
   */
  @IsString()
  @Length(6, 32)
  code: string;
}

export class RefreshTokenDto {
  /** The refresh token from the last token response. */
  @IsString()
  @Length(16, 256)
  refreshToken: string;
}

export class TokenResponseDto {
  /** JWT access token (typ at+jwt); send as `Authorization: Bearer …`. */
  accessToken: string;
  /** Opaque refresh token; single use — each refresh returns a new one. */
  refreshToken: string;
  @ApiProperty({ enum: ['Bearer'] })
  tokenType: 'Bearer';
  /** Access token lifetime in seconds. @example 900 */
  expiresIn: number;
  /** Present (true) when the organization requires 2FA and the user must set it up before anything else. */
  mfaSetupRequired?: boolean;
}

export class MfaRequiredResponseDto {
  @ApiProperty({ enum: [true] })
  mfaRequired: true;
  /** Send it with a TOTP or recovery code to POST /auth/login/2fa. */
  mfaToken: string;
}

export class StepUpDto {
  /** Your password (or give `code`). */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;

  /** A current TOTP code (or give `password`). */
  @IsOptional()
  @IsString()
  @Length(6, 32)
  code?: string;
}

export class SessionDto {
  id: string;
  /** e.g. "Firefox on Linux" */
  device: string | null;
  ip: string | null;
  userAgent: string | null;
  createdAt: Date;
  lastUsedAt: Date;
  /** True for the session of the access token making this request. */
  current: boolean;

  static from(session: Session, currentSessionId: string): SessionDto {
    return Object.assign(new SessionDto(), {
      id: session.id,
      device: session.device,
      ip: session.ip,
      userAgent: session.userAgent,
      createdAt: session.createdAt,
      lastUsedAt: session.lastUsedAt,
      current: session.id === currentSessionId,
    });
  }
}

export class SessionIdParams {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  @IsUUID()
  id: string;
}

export class MeResponseDto {
  id: string;
  organizationId: string;
  email: string;
  name: string;
  @ApiProperty({ enum: ['invited', 'active', 'disabled'] })
  status: string;
  emailVerified: boolean;
  twoFactorEnabled: boolean;
  sessionId: string;
}

export const OTP_PURPOSES = ['login', 'verify_email', 'reset_password'] as const;
export type OtpPurpose = (typeof OTP_PURPOSES)[number];

export class OtpRequestDto {
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  @ApiProperty({ enum: OTP_PURPOSES })
  @IsIn(OTP_PURPOSES)
  purpose: OtpPurpose;
}

export class OtpVerifyDto extends OtpRequestDto {
  /** The six-digit code from the mail. @example 042137 */
  @IsString()
  @Length(6, 6)
  code: string;
}

export class OtpVerifiedResponseDto {
  @ApiProperty({ enum: [true] })
  verified: true;
}

export class PasswordResetDto {
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  email: string;

  /** The six-digit code mailed for purpose reset_password. */
  @IsString()
  @Length(6, 6)
  code: string;

  /** 12–128 characters, not a common password. */
  @IsString()
  @MaxLength(1024)
  newPassword: string;
}

export class PasswordChangeDto {
  @IsString()
  @MaxLength(1024)
  currentPassword: string;

  /** 12–128 characters, not a common password. */
  @IsString()
  @MaxLength(1024)
  newPassword: string;
}

export class EmailChangeDto {
  /** The new address; it must be verified again (a code is mailed to it). */
  @Transform(normalizeEmail)
  @IsEmail()
  @MaxLength(254)
  newEmail: string;
}
