import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter as BullBoardFastifyAdapter } from '@bull-board/fastify';
import { getQueueToken } from '@nestjs/bullmq';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Queue } from 'bullmq';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppConfig } from '../../config/app.config';
import { AppException } from '../../core/exceptions/app.exception';
import { sendProblem } from '../../core/http/problem';
import { ALL_QUEUES, QueueName } from '../../core/queue/queue-names';
import { SessionStateStore } from '../auth/sessions/session-state.store';
import { AccessTokens } from '../auth/tokens/access-token.service';
import { holdsAnywhere } from '../rbac/decision/grant';
import { GrantStore } from '../rbac/decision/grant.store';

export const QUEUE_DASHBOARD_PATH = '/admin/queues';
export const QUEUE_DASHBOARD_PERMISSION = 'system:queues';

/** What the dashboard shows instead of a mail's recipient and body. */
export const REDACTED = '[redacted]';

/**
 * The dashboard spans every organization's jobs, so only members of the operator organizations
 * (QUEUE_DASHBOARD_ORGANIZATIONS) get in — every tenant's owner holds system:queues through `*:*`. Even for
 * operators it is read-only (no retry, edit, add, pause, clean or obliterate of another tenant's jobs — an
 * edited mail job could send someone's password-reset code elsewhere), and mail jobs show neither their
 * recipient nor their text: a queued or failed mail holds a one-time code, which would let one tenant take
 * over another tenant's accounts.
 */
function dashboardAdapter(name: QueueName, queue: Queue): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, { readOnlyMode: true });
  if (name === QueueName.Mail) {
    adapter.setFormatter('data', (data: { payload?: Record<string, unknown> } | undefined) =>
      data?.payload ? { ...data, payload: { ...data.payload, to: REDACTED, text: REDACTED, html: REDACTED } } : data,
    );
  }
  return adapter;
}

/**
 * bull-board over every queue, served by Fastify directly (not Nest routes, so the global guards do not
 * run): an `onRequest` hook scoped to the dashboard's prefix does what they would — bearer access token of
 * a live session of an operator organization, then the `system:queues` permission held anywhere in it. Only the
 * Authorization header is accepted (no cookie, no query token): a browser needs an extension or a proxy that
 * adds it.
 */
export async function mountQueueDashboard(app: NestFastifyApplication): Promise<void> {
  const tokens = app.get(AccessTokens);
  const states = app.get(SessionStateStore);
  const grants = app.get(GrantStore);
  const operators = new Set(app.get(AppConfig).http.queueDashboardOrganizations);

  const serverAdapter = new BullBoardFastifyAdapter();
  serverAdapter.setBasePath(QUEUE_DASHBOARD_PATH);
  createBullBoard({
    queues: ALL_QUEUES.map((name) => dashboardAdapter(name, app.get<Queue>(getQueueToken(name), { strict: false }))),
    // @bull-board/fastify 9.10.1 ships its own copy of @bull-board/api (9.10.1, private members differ from
    // our 9.10.2 only in declaration identity): structurally the same adapter.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
  });

  const authorize = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization ?? '';
    if (header.slice(0, 7).toLowerCase() !== 'bearer ') {
      sendProblem(
        { request, reply },
        {
          status: 401,
          code: 'missing-token',
          detail: 'The queue dashboard needs an access token (Authorization: Bearer …).',
        },
      );
      return reply;
    }
    try {
      const claims = await tokens.verify(header.slice(7).trim());
      const state = await states.get(claims.sid);
      if (state === 'revoked') {
        sendProblem(
          { request, reply },
          { status: 401, code: 'session-revoked', detail: 'The session has ended; log in again.' },
        );
        return reply;
      }
      if (state === 'active' && !operators.has(claims.org)) {
        sendProblem(
          { request, reply },
          {
            status: 403,
            code: 'permission-denied',
            detail:
              'The queue dashboard shows every organization’s jobs: it is only for the operator organizations (QUEUE_DASHBOARD_ORGANIZATIONS).',
            extensions: { permission: QUEUE_DASHBOARD_PERMISSION },
          },
        );
        return reply;
      }
      const allowed =
        state === 'active' && holdsAnywhere(await grants.grantsOf(claims.org, claims.sub), QUEUE_DASHBOARD_PERMISSION);
      if (!allowed) {
        sendProblem(
          { request, reply },
          {
            status: 403,
            code: 'permission-denied',
            detail: `The queue dashboard needs the ${QUEUE_DASHBOARD_PERMISSION} permission.`,
            extensions: { permission: QUEUE_DASHBOARD_PERMISSION },
          },
        );
        return reply;
      }
    } catch (error) {
      if (!(error instanceof AppException)) throw error;
      sendProblem({ request, reply }, { status: error.status, code: error.code, detail: error.message });
      return reply;
    }
  };

  await app.register(
    async (scope: FastifyInstance) => {
      scope.addHook('onRequest', authorize);
      await scope.register(serverAdapter.registerPlugin());
    },
    { prefix: QUEUE_DASHBOARD_PATH },
  );
}
