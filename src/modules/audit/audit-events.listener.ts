import { Injectable, Optional, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { AuthEvent, type AuthEventName, type AuthEventPayload } from '../auth/auth.events';
import type { AuditOutcome } from './audit-log.entity';
import { AuditService } from './audit.service';

const FAILURES: ReadonlySet<AuthEventName> = new Set([
  AuthEvent.LoginFailed,
  AuthEvent.TwoFactorFailed,
  AuthEvent.Lockout,
  AuthEvent.RefreshTokenReused,
]);

/** The resource an event is about: the session for session events, the organization for its deletion. */
function resourceOf(event: AuthEventName, payload: AuthEventPayload): { type: string; id: string | null } {
  if (event === AuthEvent.SessionRevoked || event === AuthEvent.RefreshTokenReused)
    return { type: 'sessions', id: payload.sessionId ?? null };
  if (event === AuthEvent.OrganizationDeleted) return { type: 'organizations', id: payload.organizationId };
  return { type: 'users', id: payload.userId };
}

/**
 * Every auth event becomes an audit entry (action = the event name). AuthService emits with `emitAsync` and
 * awaits it, so the entry is written before the response goes out, and inside the auth transaction when the
 * event is emitted in one (the entry then commits with the change). A failed write is logged and never
 * fails the request (AuditService.recordSafely).
 *
 * Subscribed in onModuleInit rather than with one @OnEvent method per event: the handler needs the event
 * name, and looping over AuthEvent means a new event cannot be forgotten here.
 */
@Injectable()
export class AuditEventsListener implements OnModuleInit {
  constructor(
    private readonly audit: AuditService,
    // Absent in the worker (no EventEmitterModule there): it emits no auth events.
    @Optional() private readonly events?: EventEmitter2,
  ) {}

  onModuleInit(): void {
    if (!this.events) return;
    for (const event of Object.values(AuthEvent)) {
      // emitAsync awaits the promise this returns (AuthService.emit); recordSafely never rejects.
      this.events.on(event, (payload: AuthEventPayload) => this.onAuthEvent(event, payload) as unknown as void);
    }
  }

  onAuthEvent(event: AuthEventName, payload: AuthEventPayload): Promise<void> {
    const resource = resourceOf(event, payload);
    const outcome: AuditOutcome = FAILURES.has(event) ? 'failure' : 'success';
    const details = {
      ...(payload.details ?? {}),
      ...(payload.reason ? { reason: payload.reason } : {}),
      ...(payload.sessionId ? { sessionId: payload.sessionId } : {}),
      ...(payload.email ? { email: payload.email } : {}),
    };
    return this.audit.recordSafely({
      organizationId: payload.organizationId,
      actorId: payload.userId,
      action: event,
      resourceType: resource.type,
      resourceId: resource.id,
      outcome,
      ip: payload.ip ?? null,
      userAgent: payload.userAgent ?? null,
      requestId: payload.requestId ?? null,
      details: Object.keys(details).length ? details : null,
    });
  }
}
