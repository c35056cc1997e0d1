import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type EntityManager, type Repository } from 'typeorm';
import { AppConfig } from '../../../config/app.config';
import { TransactionRunner } from '../../../core/database/transaction.runner';
import { uuidv7 } from '../../../core/database/uuidv7';
import { randomToken, sha256 } from '../../../core/security/random-code';
import { SecretBox } from '../../../core/security/secret-box';
import { AuthException, AuthExceptionCode } from '../auth.exception';
import { AccessTokens } from '../tokens/access-token.service';
import { RefreshToken } from './refresh-token.entity';
import { SessionStateStore } from './session-state.store';
import { Session } from './session.entity';

export interface TokenPair {
  accessToken: string;
  refreshToken: string;
  tokenType: 'Bearer';
  expiresIn: number;
}

export interface ClientInfo {
  ip: string | null;
  userAgent: string | null;
}

export interface NewSession {
  userId: string;
  organizationId: string;
  client: ClientInfo;
  mfaSetupRequired: boolean;
}

type RefreshOutcome = { pair: TokenPair } | { reused: Session };

/** Sessions (one per login), their rotating refresh tokens, and the access tokens issued for them. */
@Injectable()
export class SessionService {
  constructor(
    @InjectRepository(Session) private readonly sessions: Repository<Session>,
    private readonly tx: TransactionRunner,
    private readonly accessTokens: AccessTokens,
    private readonly states: SessionStateStore,
    private readonly secretBox: SecretBox,
    private readonly config: AppConfig,
  ) {}

  /** Starts a session (the credentials were just proven, so it counts as a fresh step-up) and issues its first pair. */
  async start(input: NewSession, manager?: EntityManager): Promise<{ session: Session; pair: TokenPair }> {
    const work = async (m: EntityManager): Promise<{ session: Session; pair: TokenPair }> => {
      const now = new Date();
      const session = m.create(Session, {
        id: uuidv7(),
        userId: input.userId,
        organizationId: input.organizationId,
        ip: input.client.ip,
        userAgent: input.client.userAgent?.slice(0, 512) ?? null,
        device: summarizeDevice(input.client.userAgent),
        mfaSetupRequired: input.mfaSetupRequired,
        stepUpAt: now,
        createdAt: now,
        lastUsedAt: now,
        expiresAt: this.refreshExpiry(now),
        revokedAt: null,
        revokedReason: null,
      });
      await m.insert(Session, session);
      const pair = await this.issue(m, session, now);
      return { session, pair };
    };
    return manager ? work(manager) : this.tx.run(work);
  }

  /**
   * Rotates a refresh token: the presented one dies, a new pair is returned. A token presented again
   * within the grace window (parallel tabs) gets the same new pair; later, it is treated as stolen and the
   * whole session is revoked.
   */
  async refresh(rawToken: string): Promise<{ pair: TokenPair } | { reusedSession: Session }> {
    const outcome = await this.tx.run(async (m): Promise<RefreshOutcome> => {
      const token = await m
        .getRepository(RefreshToken)
        .createQueryBuilder('t')
        .setLock('pessimistic_write')
        .where('t.token_hash = :hash', { hash: sha256(rawToken) })
        .getOne();
      if (!token) throw invalidRefresh();
      const session = await m
        .getRepository(Session)
        .findOne({ where: { id: token.sessionId }, lock: { mode: 'pessimistic_write' } });
      const now = new Date();
      if (!session || session.revokedAt || session.expiresAt <= now) throw invalidRefresh();
      if (token.rotatedAt) {
        const withinGrace =
          now.getTime() - token.rotatedAt.getTime() <= this.config.auth.refreshReuseGraceSeconds * 1000;
        if (withinGrace && token.successorSealed) {
          return { pair: JSON.parse(this.secretBox.open(token.successorSealed, token.id)) as TokenPair };
        }
        // With the user: by id alone, sessions_user_active_idx (WHERE revoked_at IS NULL) still matches, and under
        // statistics from before a burst of logins the planner may scan every active session for it.
        await this.revokeWhere(m, { id: session.id, userId: session.userId }, 'refresh-token-reuse', now);
        return { reused: session };
      }
      if (token.expiresAt <= now) throw invalidRefresh();
      const pair = await this.issue(m, session, now);
      await m.update(
        RefreshToken,
        { id: token.id },
        { rotatedAt: now, successorSealed: this.secretBox.seal(JSON.stringify(pair), token.id) },
      );
      await m.update(Session, { id: session.id }, { lastUsedAt: now, expiresAt: this.refreshExpiry(now) });
      return { pair };
    });
    if ('reused' in outcome) {
      await this.states.markRevoked([outcome.reused.id]);
      return { reusedSession: outcome.reused };
    }
    return outcome;
  }

  /** Revokes one of the user's sessions; false when it does not exist or is not theirs. */
  async revoke(userId: string, sessionId: string, reason: string): Promise<boolean> {
    const revoked = await this.revokeWhere(this.sessions.manager, { id: sessionId, userId }, reason, new Date());
    await this.states.markRevoked(revoked);
    return revoked.length > 0;
  }

  /** Revokes every live session of the user, except `keepSessionId`; returns the revoked ids. */
  async revokeAllForUser(
    userId: string,
    reason: string,
    keepSessionId?: string,
    manager?: EntityManager,
  ): Promise<string[]> {
    const revoked = await this.revokeWhere(
      manager ?? this.sessions.manager,
      { userId },
      reason,
      new Date(),
      keepSessionId,
    );
    // Redis is told after the caller's transaction commits (or now, outside one).
    await this.tx.afterCommit(() => this.states.markRevoked(revoked));
    return revoked;
  }

  async revokeAllForOrganization(organizationId: string, reason: string): Promise<void> {
    const result = await this.sessions
      .createQueryBuilder()
      .update(Session)
      .set({ revokedAt: new Date(), revokedReason: reason })
      .where('organization_id = :organizationId AND revoked_at IS NULL', { organizationId })
      .returning('id')
      .execute();
    await this.states.markRevoked((result.raw as { id: string }[]).map((row) => row.id));
  }

  /** Revokes the session of a refresh token (logout); unknown tokens are ignored. */
  async revokeByRefreshToken(rawToken: string, userId: string): Promise<string | null> {
    const token = await this.sessions.manager.getRepository(RefreshToken).findOneBy({ tokenHash: sha256(rawToken) });
    if (!token) return null;
    return (await this.revoke(userId, token.sessionId, 'logout')) ? token.sessionId : null;
  }

  listActive(userId: string): Promise<Session[]> {
    return this.sessions
      .createQueryBuilder('s')
      .where('s.user_id = :userId AND s.revoked_at IS NULL AND s.expires_at > now()', { userId })
      .orderBy('s.created_at', 'DESC')
      .getMany();
  }

  get(sessionId: string): Promise<Session | null> {
    return this.sessions.findOneBy({ id: sessionId });
  }

  async recordStepUp(sessionId: string): Promise<void> {
    await this.sessions.update({ id: sessionId }, { stepUpAt: new Date() });
  }

  /** Throws unless the user proved a credential in this session within STEP_UP_MAX_AGE_SECONDS. */
  async requireRecentStepUp(sessionId: string): Promise<void> {
    const session = await this.sessions.findOne({ where: { id: sessionId }, select: { id: true, stepUpAt: true } });
    const maxAge = this.config.auth.stepUpMaxAgeSeconds;
    if (!session?.stepUpAt || Date.now() - session.stepUpAt.getTime() > maxAge * 1000) {
      throw new AuthException(
        AuthExceptionCode.StepUpRequired,
        `Confirm your password or a 2FA code (POST /api/v1/auth/step-up) within the last ${maxAge} seconds first.`,
        { maxAgeSeconds: maxAge },
      );
    }
  }

  /** Ends the 2FA-setup restriction of a session once the user has enabled 2FA. */
  async clearMfaSetupRequirement(userId: string): Promise<void> {
    const sessions = await this.sessions.findBy({ userId, mfaSetupRequired: true, revokedAt: IsNull() });
    if (!sessions.length) return;
    await this.sessions.update({ userId, mfaSetupRequired: true }, { mfaSetupRequired: false });
    await Promise.all(sessions.map((s) => this.states.replace(s.id, 'active')));
  }

  private async issue(m: EntityManager, session: Session, now: Date): Promise<TokenPair> {
    const refreshToken = randomToken(32);
    await m.insert(RefreshToken, {
      id: uuidv7(),
      sessionId: session.id,
      tokenHash: sha256(refreshToken),
      createdAt: now,
      expiresAt: this.refreshExpiry(now),
      rotatedAt: null,
      successorSealed: null,
    });
    const accessToken = await this.accessTokens.sign({
      userId: session.userId,
      organizationId: session.organizationId,
      sessionId: session.id,
    });
    return { accessToken, refreshToken, tokenType: 'Bearer', expiresIn: this.accessTokens.ttlSeconds };
  }

  private async revokeWhere(
    m: EntityManager,
    where: { id?: string; userId?: string },
    reason: string,
    now: Date,
    keepSessionId?: string,
  ): Promise<string[]> {
    const qb = m
      .createQueryBuilder()
      .update(Session)
      .set({ revokedAt: now, revokedReason: reason })
      .where('revoked_at IS NULL');
    if (where.id) qb.andWhere('id = :id', { id: where.id });
    if (where.userId) qb.andWhere('user_id = :userId', { userId: where.userId });
    if (keepSessionId) qb.andWhere('id <> :keep', { keep: keepSessionId });
    const result = await qb.returning('id').execute();
    return (result.raw as { id: string }[]).map((row) => row.id);
  }

  private refreshExpiry(now: Date): Date {
    return new Date(now.getTime() + this.config.auth.refreshTtlSeconds * 1000);
  }
}

function invalidRefresh(): AuthException {
  return new AuthException(AuthExceptionCode.InvalidRefreshToken, 'The refresh token is invalid, expired or revoked.');
}

/** A short label for the sessions list, e.g. "Firefox on Linux"; never used for decisions. */
function summarizeDevice(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const browser = /(Edg|Firefox|Chrome|Safari|curl|PostmanRuntime|okhttp)\/?/i.exec(userAgent)?.[1];
  const os = /(Windows|Mac OS X|Android|iPhone|iPad|Linux)/i.exec(userAgent)?.[1];
  if (!browser && !os) return userAgent.slice(0, 64);
  return [browser, os && `on ${os}`].filter(Boolean).join(' ');
}
