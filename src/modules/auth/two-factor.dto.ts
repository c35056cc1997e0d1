import { IsOptional, IsString, Length, MaxLength } from 'class-validator';

export class TwoFactorSetupResponseDto {
  /** Base32 TOTP secret (160 bits), for manual entry. */
  secret: string;
  /** otpauth:// URI for authenticator apps. */
  otpauthUrl: string;
  /** The URI as a QR code, PNG data URL. */
  qrCode: string;
}

export class EnableTwoFactorDto {
  /** A current code from the authenticator app. @example 123456 */
  @IsString()
  @Length(6, 6)
  code: string;
}

export class RecoveryCodesResponseDto {
  /** Ten single-use recovery codes: shown once, store them safely. */
  recoveryCodes: string[];
}

export class DisableTwoFactorDto {
  /** A current TOTP code (or give `password`). */
  @IsOptional()
  @IsString()
  @Length(6, 6)
  code?: string;

  /** Your password (or give `code`). */
  @IsOptional()
  @IsString()
  @MaxLength(1024)
  password?: string;
}
