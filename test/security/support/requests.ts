import { randomBytes } from 'node:crypto';
import { TEST_PASSWORD } from '../../helpers/auth';
import { multipartFile, tinyPdf, type OrgFixture, type RequestBody } from './world';

/*
 * A valid request for every route without a path parameter that takes a body or needs a query (routes with
 * one take theirs from ROUTE_FIXTURES). The suite fails naming a new route that has none here.
 */

export type RequestFactory = (org: OrgFixture) => { body?: RequestBody; query?: string };

const hex = () => randomBytes(4).toString('hex');

/** Routes that need a permission. */
export const PERMISSION_ROUTE_REQUESTS: Record<string, RequestFactory> = {
  'POST /api/v1/customers': () => ({ body: { json: { name: 'Matrix customer' } } }),
  'POST /api/v1/customers/import': () => ({
    body: { raw: { payload: 'name\r\nMatrix\r\n', contentType: 'text/csv' } },
  }),
  'POST /api/v1/departments': () => ({ body: { json: { name: `dept-${hex()}` } } }),
  'POST /api/v1/posts': () => ({ body: { json: { title: 'Matrix post' } } }),
  'POST /api/v1/roles': () => ({ body: { json: { name: `role-${hex()}`, permissions: [] } } }),
  'POST /api/v1/users': () => ({ body: { json: { email: `invite-${hex()}@example.test`, name: 'Invited' } } }),
  'POST /api/v1/system/pings': () => ({ body: { json: {} } }),
  'POST /api/v1/media': () => ({ body: { raw: multipartFile(tinyPdf(), 'matrix.pdf', 'application/pdf') } }),
  'POST /api/v1/media/uploads': () => ({ body: { json: { filename: 'matrix.pdf' } } }),
  'PATCH /api/v1/organizations/current': () => ({ body: { json: { name: 'Renamed organization' } } }),
  'GET /api/v1/rbac/check': (org) => ({ query: `userId=${org.owner.userId}&permission=customers:read` }),
};

const NEW_PASSWORD = 'another-Plausible-horse-77';

/** Public and self-service routes: syntactically valid bodies (they pass validation; most fail later). */
export const ACCOUNT_ROUTE_REQUESTS: Record<string, RequestFactory> = {
  'POST /api/v1/auth/register': () => ({
    body: {
      json: {
        organizationName: `Org ${hex()}`,
        name: 'New Owner',
        email: `reg-${hex()}@example.test`,
        password: TEST_PASSWORD,
      },
    },
  }),
  'POST /api/v1/auth/login': (org) => ({ body: { json: { email: org.owner.email, password: TEST_PASSWORD } } }),
  'POST /api/v1/auth/login/2fa': () => ({ body: { json: { mfaToken: 'm'.repeat(43), code: '123456' } } }),
  'POST /api/v1/auth/refresh': () => ({ body: { json: { refreshToken: 'r'.repeat(43) } } }),
  'POST /api/v1/auth/logout': () => ({ body: { json: { refreshToken: 'r'.repeat(43) } } }),
  'POST /api/v1/auth/step-up': () => ({ body: { json: { password: TEST_PASSWORD } } }),
  'POST /api/v1/auth/2fa/enable': () => ({ body: { json: { code: '123456' } } }),
  'POST /api/v1/auth/2fa/disable': () => ({ body: { json: { password: TEST_PASSWORD } } }),
  'POST /api/v1/auth/otp/request': (org) => ({ body: { json: { email: org.owner.email, purpose: 'login' } } }),
  'POST /api/v1/auth/otp/verify': (org) => ({
    body: { json: { email: org.owner.email, purpose: 'login', code: '123456' } },
  }),
  'POST /api/v1/auth/password/reset': (org) => ({
    body: { json: { email: org.owner.email, code: '123456', newPassword: NEW_PASSWORD } },
  }),
  'POST /api/v1/auth/password/change': () => ({
    body: { json: { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD } },
  }),
  'POST /api/v1/auth/email/change': () => ({ body: { json: { newEmail: `moved-${hex()}@example.test` } } }),
};
