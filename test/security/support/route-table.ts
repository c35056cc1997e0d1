import { RequestMethod } from '@nestjs/common';
import { PATH_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { API_PREFIX } from '../../../src/api-app';
import { IS_PUBLIC } from '../../../src/core/http/public.decorator';
import {
  AUTHENTICATED_ONLY,
  REQUIRED_PERMISSION,
} from '../../../src/modules/rbac/decision/require-permission.decorator';
import { routeHandlers } from '../../helpers/routes';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Who may call a route, as its decorators declare it. */
export type RouteAccess = { kind: 'public' } | { kind: 'authenticated' } | { kind: 'permission'; permission: string };

/** One route as Fastify serves it, with what Nest's metadata says about its access. */
export interface ApiRoute {
  /** `GET /api/v1/customers/:id`: the key of the fixture and expectation tables. */
  key: string;
  /** `Controller.method`, for failure messages. */
  name: string;
  method: HttpMethod;
  /** Fastify's path template, `:param` style. */
  path: string;
  /** Path parameters in order (`*` for a wildcard). */
  params: string[];
  access: RouteAccess;
}

const METHODS: Partial<Record<RequestMethod, HttpMethod>> = {
  [RequestMethod.GET]: 'GET',
  [RequestMethod.POST]: 'POST',
  [RequestMethod.PUT]: 'PUT',
  [RequestMethod.PATCH]: 'PATCH',
  [RequestMethod.DELETE]: 'DELETE',
};

function joinPath(...parts: string[]): string {
  const joined = parts
    .flatMap((part) => part.split('/'))
    .filter(Boolean)
    .join('/');
  return `/${joined}`;
}

function pathsOf(target: object): string[] {
  const value = Reflect.getMetadata(PATH_METADATA, target) as string | string[] | undefined;
  if (value === undefined) return [''];
  return Array.isArray(value) ? value : [value];
}

/**
 * Every route of the app's controllers (so a new controller or handler shows up here by itself), with the
 * path Fastify actually serves: the candidates with and without the global prefix are checked against
 * Fastify's router, so prefix exclusions never need repeating here.
 */
export function apiRoutes(app: NestFastifyApplication): ApiRoute[] {
  const fastify = app.getHttpAdapter().getInstance();
  const reflector = app.get(Reflector);
  const routes: ApiRoute[] = [];
  for (const handler of routeHandlers(app)) {
    const method = METHODS[handler.method];
    if (!method) throw new Error(`${handler.name}: HTTP method ${handler.method} is not covered by the security suite`);
    const targets = [handler.handler, handler.controller];
    const permission = reflector.getAllAndOverride<string | undefined>(REQUIRED_PERMISSION, targets);
    const access: RouteAccess = reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)
      ? { kind: 'public' }
      : permission
        ? { kind: 'permission', permission }
        : reflector.getAllAndOverride<boolean>(AUTHENTICATED_ONLY, targets)
          ? { kind: 'authenticated' }
          : { kind: 'public' };
    for (const controllerPath of pathsOf(handler.controller)) {
      for (const handlerPath of pathsOf(handler.handler)) {
        const bare = joinPath(controllerPath, handlerPath).replace(/\{\*[^}]*\}/g, '*');
        const candidates = [joinPath(API_PREFIX, bare), bare];
        const path = candidates.find((url) => fastify.hasRoute({ method, url }));
        if (!path) throw new Error(`${handler.name}: none of ${candidates.join(', ')} is served by Fastify`);
        const params = [...path.matchAll(/:(\w+)|(\*)/g)].map((match) => match[1] ?? '*');
        routes.push({ key: `${method} ${path}`, name: handler.name, method, path, params, access });
      }
    }
  }
  return routes.sort((a, b) => a.key.localeCompare(b.key));
}

/** The URL of a route with its path parameters filled in. */
export function urlOf(route: Pick<ApiRoute, 'path'>, params: Record<string, string>, query = ''): string {
  const path = route.path.replace(/:(\w+)|\*/g, (match: string, name: string | undefined) => {
    const value = params[name ?? '*'];
    if (value === undefined) throw new Error(`no value for ${match} of ${route.path}`);
    return name ? encodeURIComponent(value) : value;
  });
  return query ? `${path}?${query}` : path;
}
