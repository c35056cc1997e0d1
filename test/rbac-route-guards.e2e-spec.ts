import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Reflector } from '@nestjs/core';
import { IS_PUBLIC } from '../src/core/http/public.decorator';
import { AUTHENTICATED_ONLY, REQUIRED_PERMISSION } from '../src/modules/rbac/decision/require-permission.decorator';
import { routeHandlers } from './helpers/routes';
import { createTestApp } from './helpers/test-app';

describe('Route access declarations', () => {
  let app: NestFastifyApplication;

  beforeAll(async () => {
    app = await createTestApp();
  });

  afterAll(async () => {
    await app.close();
  });

  it('should declare for every route exactly one of @Public, @AuthenticatedOnly or @RequirePermission', () => {
    const reflector = app.get(Reflector);
    const undeclared: string[] = [];
    const ambiguous: string[] = [];
    const handlers = routeHandlers(app);
    for (const { name, handler, controller } of handlers) {
      const targets = [handler, controller];
      const marks = [
        reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets),
        reflector.getAllAndOverride<boolean>(AUTHENTICATED_ONLY, targets),
        reflector.getAllAndOverride<string>(REQUIRED_PERMISSION, targets),
      ].filter(Boolean).length;
      if (marks === 0) undeclared.push(name);
      if (marks > 1) ambiguous.push(name);
    }
    const routes = handlers.length;
    expect(routes).toBeGreaterThan(20);
    expect({ undeclared, ambiguous }).toEqual({ undeclared: [], ambiguous: [] });
  });
});
