import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PATH_METADATA } from '@nestjs/common/constants';
import { IS_PUBLIC } from '../src/core/http/public.decorator';
import { AUTHENTICATED_ONLY, REQUIRED_PERMISSION } from '../src/modules/rbac/decision/require-permission.decorator';
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
    const scanner = app.get(MetadataScanner);
    const undeclared: string[] = [];
    const ambiguous: string[] = [];
    let routes = 0;
    for (const wrapper of app.get(DiscoveryService).getControllers()) {
      if (!wrapper.metatype || !wrapper.instance) continue;
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name] as (...args: unknown[]) => unknown;
        if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        routes++;
        const targets = [handler, wrapper.metatype];
        const marks = [
          reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets),
          reflector.getAllAndOverride<boolean>(AUTHENTICATED_ONLY, targets),
          reflector.getAllAndOverride<string>(REQUIRED_PERMISSION, targets),
        ].filter(Boolean).length;
        const where = `${wrapper.metatype.name}.${name}`;
        if (marks === 0) undeclared.push(where);
        if (marks > 1) ambiguous.push(where);
      }
    }
    expect(routes).toBeGreaterThan(20);
    expect({ undeclared, ambiguous }).toEqual({ undeclared: [], ambiguous: [] });
  });
});
