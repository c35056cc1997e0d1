import { Injectable, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { currentContext } from '../../core/context/request-context';
import { requestOf } from '../../core/http/http-context';
import { IS_PUBLIC } from '../../core/http/public.decorator';
import { CallerLookups, type Caller } from '../../core/redis/caller-lookups';
import { ALLOW_PENDING_TWO_FACTOR_SETUP } from './auth.decorators';
import { AuthException, AuthExceptionCode } from './auth.exception';
import { SESSION_STATE_PART, SessionStateStore, type SessionState } from './sessions/session-state.store';
import { AccessTokens } from './tokens/access-token.service';

interface RouteAuth {
  isPublic: boolean;
  allowPendingSetup: boolean;
}

/**
 * The global authentication guard: every route needs a valid access token of a live session unless it is
 * marked @Public(). Runs before the permission guard (RBAC) and the rate limiter, which read `request.user`.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  // Route metadata never changes at run time: read it once per handler.
  private readonly routes = new WeakMap<object, RouteAuth>();

  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: AccessTokens,
    private readonly states: SessionStateStore,
    private readonly lookups: CallerLookups,
  ) {}

  // Not async: Nest goes on to the next guard without awaiting a plain boolean (a public route).
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return true;
    const route = this.routeAuth(context);
    if (route.isPublic) return true;
    return this.authenticate(context, route);
  }

  // Throws (401) rather than rejecting where it can: a synchronous answer spares a promise per request.
  private authenticate(context: ExecutionContext, route: RouteAuth): boolean | Promise<boolean> {
    const request = requestOf(context);
    // The auth scheme is case-insensitive (RFC 7235 §2.1): `bearer x` is a Bearer token too.
    const header = request.headers.authorization ?? '';
    if (header.slice(0, 7).toLowerCase() !== 'bearer ') {
      throw new AuthException(
        AuthExceptionCode.MissingToken,
        'This route needs an access token (Authorization: Bearer …).',
      );
    }
    const claims = this.tokens.verifyNow(header.slice(7).trim());
    // Warm: the session's state is known here (NearCache) and nothing is asked of Redis now; the later guards
    // use their own near copies, or ask on their own.
    const caller: Caller = { userId: claims.sub, organizationId: claims.org, sessionId: claims.sid };
    const known = this.states.known(claims.sid);
    if (known) return this.admit(context, route, caller, known);
    // The session lookup and the later guards' lookups (grants, rate-limit counter) as one script call: one
    // Redis command and round trip (CallerLookups). Nothing is granted before the session check below has passed.
    const ticket = this.states.ticket();
    const cached = this.lookups.start(caller, context, SESSION_STATE_PART, this.states.lookupCall(claims.sid));
    return this.states.resolve(claims.sid, cached, ticket).then((state) => this.admit(context, route, caller, state));
  }

  private admit(context: ExecutionContext, route: RouteAuth, caller: Caller, state: SessionState): boolean {
    if (state === 'revoked')
      throw new AuthException(AuthExceptionCode.SessionRevoked, 'The session has ended; log in again.');
    if (state === 'mfa-setup' && !route.allowPendingSetup) {
      throw new AuthException(
        AuthExceptionCode.TwoFactorSetupRequired,
        'Your organization requires two-factor authentication: set it up (POST /api/v1/auth/2fa/setup) first.',
      );
    }
    requestOf(context).user = { id: caller.userId, organizationId: caller.organizationId, sessionId: caller.sessionId };
    // Log lines of the request read the user from here (LoggingModule's mixin), as do audit entries.
    const requestContext = currentContext();
    if (requestContext) requestContext.userId = caller.userId;
    return true;
  }

  private routeAuth(context: ExecutionContext): RouteAuth {
    const handler = context.getHandler();
    let route = this.routes.get(handler);
    if (!route) {
      const targets = [handler, context.getClass()];
      route = {
        isPublic: this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets) ?? false,
        allowPendingSetup: this.reflector.getAllAndOverride<boolean>(ALLOW_PENDING_TWO_FACTOR_SETUP, targets) ?? false,
      };
      this.routes.set(handler, route);
    }
    return route;
  }
}
