import { Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import type { PermissionKey } from './permission';
import { PERMISSION_DESCRIPTIONS } from './permission-catalog';
import { REQUIRED_PERMISSION } from './decision/require-permission.decorator';

export interface CatalogEntry {
  key: string;
  service: string;
  action: string;
  description: string;
}

/**
 * Every permission some route declares with @RequirePermission, found by scanning the controllers at
 * start-up: the catalog cannot drift from the routes. Start-up fails if one has no description.
 */
@Injectable()
export class PermissionCatalog implements OnApplicationBootstrap {
  private entries: CatalogEntry[] = [];
  private known = new Set<string>();

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly reflector: Reflector,
  ) {}

  onApplicationBootstrap(): void {
    const keys = new Set<string>();
    for (const wrapper of this.discovery.getControllers()) {
      const instance = wrapper.instance as Record<string, unknown> | undefined;
      if (!instance || !wrapper.metatype) continue;
      const classKey = this.reflector.get<string | undefined>(REQUIRED_PERMISSION, wrapper.metatype);
      if (classKey) keys.add(classKey);
      const prototype = Object.getPrototypeOf(instance) as object;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const handler = (prototype as Record<string, unknown>)[name];
        if (typeof handler !== 'function') continue;
        const key = this.reflector.get<string | undefined>(REQUIRED_PERMISSION, handler);
        if (key) keys.add(key);
      }
    }
    this.entries = [...keys].sort().map((key) => {
      const description = PERMISSION_DESCRIPTIONS[key as PermissionKey];
      if (!description)
        throw new Error(`permission ${key} is required by a route but has no description in permission-catalog.ts`);
      const [service, action] = key.split(':');
      return { key, service, action, description };
    });
    // Roles may also hold permissions of features whose routes come later; those are known but not listed.
    this.known = new Set([...Object.keys(PERMISSION_DESCRIPTIONS), ...keys]);
  }

  list(): CatalogEntry[] {
    return this.entries;
  }

  /** A grantable pattern: a known key, `service:*` of a known service, `*:action` of a known action, `*:*`. */
  isGrantable(pattern: string): boolean {
    if (pattern === '*:*') return true;
    const [service, action] = pattern.split(':');
    if (service === undefined || action === undefined) return false;
    if (service === '*') return [...this.known].some((key) => key.endsWith(`:${action}`));
    if (action === '*') return [...this.known].some((key) => key.startsWith(`${service}:`));
    return this.known.has(pattern);
  }
}
