import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';

export interface TestAccount {
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
  userId: string;
  organizationId: string;
  sessionId: string;
}

export const TEST_PASSWORD = 'plausible-Horse-battery-42';

/** A unique, valid email for this run. */
export function uniqueEmail(label = 'user'): string {
  return `${label}-${randomUUID().slice(0, 8)}@atrium.test`;
}

export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` };
}

/** Registers a new organization and its owner through the API. */
export async function registerOwner(app: NestFastifyApplication, label = 'owner'): Promise<TestAccount> {
  const email = uniqueEmail(label);
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/auth/register',
    payload: { organizationName: `Org ${label}`, name: `Test ${label}`, email, password: TEST_PASSWORD },
  });
  if (res.statusCode !== 201) throw new Error(`register failed: ${res.statusCode} ${res.body}`);
  const tokens = res.json<{ accessToken: string; refreshToken: string }>();
  const me = await app.inject({ method: 'GET', url: '/api/v1/auth/me', headers: bearer(tokens.accessToken) });
  const { id, organizationId, sessionId } = me.json<{ id: string; organizationId: string; sessionId: string }>();
  return { email, password: TEST_PASSWORD, ...tokens, userId: id, organizationId, sessionId };
}
