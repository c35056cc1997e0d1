import { Reflector } from '@nestjs/core';
import { RequestMethod } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { AUDITED, AUDITED_IN_SERVICE } from '../../src/modules/audit/audit.metadata';
import { bearer, registerOwner } from '../helpers/auth';
import { auditEntries, firstBrokenLink } from '../helpers/audit';
import { routeHandlers } from '../helpers/routes';
import { createTestApp } from '../helpers/test-app';

const MUTATING = new Set<number>([RequestMethod.POST, RequestMethod.PUT, RequestMethod.PATCH, RequestMethod.DELETE]);

describe('Audit chain and coverage', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  it('should number entries per organization and chain each hash to the previous one', async () => {
    const a = await registerOwner(app, 'chain-a');
    const b = await registerOwner(app, 'chain-b');
    for (const [owner, name] of [
      [a, 'A one'],
      [b, 'B one'],
      [a, 'A two'],
    ] as const) {
      const res = await app.inject({
        method: 'PATCH',
        url: '/api/v1/organizations/current',
        headers: bearer(owner.accessToken),
        payload: { name },
      });
      expect(res.statusCode).toBe(200);
    }
    const chainA = await auditEntries(app, a.organizationId);
    const chainB = await auditEntries(app, b.organizationId);
    expect(chainA.map((entry) => entry.seq)).toEqual(chainA.map((_, i) => i + 1));
    expect(chainA.filter((entry) => entry.action === 'organizations.update')).toHaveLength(2);
    expect(chainB.filter((entry) => entry.action === 'organizations.update')).toHaveLength(1);
    expect(chainA[0].prevHash).toBeNull();
    expect(firstBrokenLink(chainA)).toBeNull();
    expect(firstBrokenLink(chainB)).toBeNull();
    expect(chainA.find((entry) => entry.action === 'organizations.update')).toMatchObject({
      resourceType: 'organizations',
      resourceId: a.organizationId,
      details: { request: { name: 'A one' } },
    });
  });

  it('should keep one unbroken chain when 20 mutations of one organization run in parallel', async () => {
    const owner = await registerOwner(app, 'chain-parallel');
    const responses = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/roles',
          headers: bearer(owner.accessToken),
          payload: { name: `Parallel ${i}`, permissions: ['customers:read'] },
        }),
      ),
    );
    expect(responses.map((res) => res.statusCode)).toEqual(Array(20).fill(201));
    const chain = await auditEntries(app, owner.organizationId);
    expect(chain.filter((entry) => entry.action === 'roles.create')).toHaveLength(20);
    expect(chain.map((entry) => entry.seq)).toEqual(chain.map((_, i) => i + 1));
    expect(firstBrokenLink(chain)).toBeNull();
  });

  it('should declare for every mutating route how it is audited', () => {
    const reflector = app.get(Reflector);
    const mutatingRoutes = routeHandlers(app).filter((route) => MUTATING.has(route.method));
    const unaudited = mutatingRoutes
      .filter(
        ({ handler, controller }) =>
          reflector.get(AUDITED, handler) === undefined &&
          reflector.getAllAndOverride<string>(AUDITED_IN_SERVICE, [handler, controller]) === undefined,
      )
      .map((route) => route.name);
    const mutating = mutatingRoutes.length;
    expect(mutating).toBeGreaterThan(25);
    expect(unaudited).toEqual([]);
  });
});
