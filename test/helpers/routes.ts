import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants';
import type { INestApplication, RequestMethod, Type } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';

export interface RouteHandler {
  /** `Controller.method`, for failure messages. */
  name: string;
  handler: (...args: unknown[]) => unknown;
  controller: Type;
  method: RequestMethod;
}

/** Every route handler of the app's controllers, read from Nest's metadata (what the router mounts). */
export function routeHandlers(app: INestApplication): RouteHandler[] {
  const scanner = app.get(MetadataScanner);
  const routes: RouteHandler[] = [];
  for (const wrapper of app.get(DiscoveryService).getControllers()) {
    if (!wrapper.metatype || !wrapper.instance) continue;
    const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name] as (...args: unknown[]) => unknown;
      if (Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
      routes.push({
        name: `${wrapper.metatype.name}.${name}`,
        handler,
        controller: wrapper.metatype as Type,
        method: Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod,
      });
    }
  }
  return routes;
}
