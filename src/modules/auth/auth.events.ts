/**
 * Security events the auth module emits (EventEmitter2). The audit module subscribes and records them;
 * AuthService.emit waits for the listeners (emitAsync), so an event's entry is written before the response.
 */
export const AuthEvent = {
  Registered: 'auth.registered',
  LoginSucceeded: 'auth.login.succeeded',
  LoginFailed: 'auth.login.failed',
  Lockout: 'auth.lockout',
  /** A lock lifted before it expired (password reset); expiry itself is not an event. */
  Unlocked: 'auth.unlocked',
  TwoFactorEnabled: 'auth.two-factor.enabled',
  TwoFactorDisabled: 'auth.two-factor.disabled',
  TwoFactorFailed: 'auth.two-factor.failed',
  RecoveryCodeUsed: 'auth.recovery-code.used',
  RefreshTokenReused: 'auth.refresh-token.reused',
  PasswordChanged: 'auth.password.changed',
  PasswordReset: 'auth.password.reset',
  SessionRevoked: 'auth.session.revoked',
  EmailVerified: 'auth.email.verified',
  EmailChanged: 'auth.email.changed',
  OrganizationDeleted: 'auth.organization.deleted',
} as const;

export type AuthEventName = (typeof AuthEvent)[keyof typeof AuthEvent];

export interface AuthEventPayload {
  organizationId: string | null;
  userId: string | null;
  sessionId?: string;
  /** Email tried, for failures where no user matched. */
  email?: string;
  reason?: string;
  ip?: string;
  userAgent?: string;
  requestId?: string;
  /** Event-specific details; never secrets. */
  details?: Record<string, unknown>;
}
