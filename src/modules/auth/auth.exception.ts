import { AppException } from '../../core/exceptions/app.exception';

export enum AuthExceptionCode {
  InvalidCredentials = 'invalid-credentials',
  AccountLocked = 'account-locked',
  AccountDisabled = 'account-disabled',
  EmailNotVerified = 'email-not-verified',
  RegistrationDisabled = 'registration-disabled',
  EmailTaken = 'email-taken',
  MissingToken = 'missing-token',
  InvalidToken = 'invalid-token',
  SessionRevoked = 'session-revoked',
  SessionNotFound = 'session-not-found',
  InvalidRefreshToken = 'invalid-refresh-token',
  RefreshTokenReused = 'refresh-token-reused',
  InvalidMfaToken = 'invalid-mfa-token',
  InvalidTwoFactorCode = 'invalid-two-factor-code',
  TwoFactorSetupRequired = 'two-factor-setup-required',
  TwoFactorAlreadyEnabled = 'two-factor-already-enabled',
  TwoFactorNotEnabled = 'two-factor-not-enabled',
  TwoFactorSetupNotStarted = 'two-factor-setup-not-started',
  TwoFactorRequiredByOrganization = 'two-factor-required-by-organization',
  StepUpRequired = 'step-up-required',
  InvalidCurrentPassword = 'invalid-current-password',
  InvalidCode = 'invalid-or-expired-code',
  ServiceUnavailable = 'auth-unavailable',
}

const STATUS: Record<AuthExceptionCode, number> = {
  [AuthExceptionCode.InvalidCredentials]: 401,
  [AuthExceptionCode.AccountLocked]: 423,
  [AuthExceptionCode.AccountDisabled]: 403,
  [AuthExceptionCode.EmailNotVerified]: 403,
  [AuthExceptionCode.RegistrationDisabled]: 403,
  [AuthExceptionCode.EmailTaken]: 409,
  [AuthExceptionCode.MissingToken]: 401,
  [AuthExceptionCode.InvalidToken]: 401,
  [AuthExceptionCode.SessionRevoked]: 401,
  [AuthExceptionCode.SessionNotFound]: 404,
  [AuthExceptionCode.InvalidRefreshToken]: 401,
  [AuthExceptionCode.RefreshTokenReused]: 401,
  [AuthExceptionCode.InvalidMfaToken]: 401,
  [AuthExceptionCode.InvalidTwoFactorCode]: 401,
  [AuthExceptionCode.TwoFactorSetupRequired]: 403,
  [AuthExceptionCode.TwoFactorAlreadyEnabled]: 409,
  [AuthExceptionCode.TwoFactorNotEnabled]: 409,
  [AuthExceptionCode.TwoFactorSetupNotStarted]: 409,
  [AuthExceptionCode.TwoFactorRequiredByOrganization]: 409,
  [AuthExceptionCode.StepUpRequired]: 403,
  [AuthExceptionCode.InvalidCurrentPassword]: 403,
  [AuthExceptionCode.InvalidCode]: 400,
  [AuthExceptionCode.ServiceUnavailable]: 503,
};

// Access-token failures tell clients (RFC 6750) to authenticate again.
const BEARER_CHALLENGE = new Set([
  AuthExceptionCode.MissingToken,
  AuthExceptionCode.InvalidToken,
  AuthExceptionCode.SessionRevoked,
]);

export class AuthException extends AppException {
  constructor(code: AuthExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(
      code,
      STATUS[code],
      message,
      extensions,
      BEARER_CHALLENGE.has(code)
        ? { 'www-authenticate': code === AuthExceptionCode.MissingToken ? 'Bearer' : 'Bearer error="invalid_token"' }
        : {},
    );
  }
}
