import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { AppConfig } from '../../../config/app.config';
import { currentContext, type RequestContext } from '../../../core/context/request-context';
import type { LookupCall, LookupPart } from '../../../core/redis/caller-lookups';
import { NearCache } from '../../../core/redis/near-cache';
import { RedisAvailability } from '../../../core/redis/redis-availability';
import { REDIS } from '../../../core/redis/redis.module';
import { RedisScript } from '../../../core/redis/redis-script';
import type { Grant } from './grant';
import { ParsedGrants } from './parsed-grants';

const GRANTS_TTL_SECONDS = 600;

// One command: read the organization's RBAC version, then the user's grants cached under it. Runs alone
// (READ_SCRIPT) or as the permission guard's part of the JWT guard's per-request script (CallerLookups).
export const GRANTS_READ_PART: LookupPart = {
  lua: `
local version = redis.call('GET', KEYS[1]) or '0'
return { version, redis.call('GET', ARGV[1] .. version .. ':' .. ARGV[2]) }
`,
  keys: 1,
  args: 2,
};
const READ_SCRIPT = new RedisScript(GRANTS_READ_PART.lua);

/** The RBAC version and the grants cached under it (JSON, null on a miss); null when Redis did not answer. */
type CachedRead = [version: string, grants: string | null] | null;

/** What one request has asked: answers (shared by the guard and the service), and reads started early. */
interface RequestMemo {
  grants: Map<string, Promise<Grant[]>>;
  reads: Map<string, Promise<CachedRead>>;
}

/**
 * Effective grants per user, computed from PostgreSQL and cached in Redis under the organization's RBAC
 * version. Any change to roles, role permissions, assignments or departments bumps that version, so every
 * API instance recomputes at once; stale entries simply expire. Without Redis, grants come from PostgreSQL.
 * A bump that fails while Redis is unreachable is replayed when it is back, and until then, and for the
 * lifetime of an entry after an outage this process saw, cached grants are not trusted (RedisAvailability):
 * a role taken away during the outage must not come back with Redis's old data.
 *
 * Both values read (the version and the grants under it) are kept in this process as Redis answered them
 * (NearCache): Redis tells every instance when the version key changes, so a warm check asks Redis nothing and
 * a bump reaches every instance as Redis applies it.
 */
@Injectable()
export class GrantStore {
  private readonly perRequest = new WeakMap<RequestContext, RequestMemo>();
  private readonly parsed = new ParsedGrants();

  constructor(
    private readonly dataSource: DataSource,
    @Inject(REDIS) private readonly redis: Redis,
    private readonly config: AppConfig,
    private readonly availability: RedisAvailability,
    private readonly near: NearCache,
  ) {
    near.track(`${config.redis.keyPrefix}rbac:`);
  }

  private versionKey(organizationId: string): string {
    return `${this.config.redis.keyPrefix}rbac:version:${organizationId}`;
  }

  private grantsPrefix(organizationId: string): string {
    return `${this.config.redis.keyPrefix}rbac:grants:${organizationId}:`;
  }

  /** GRANTS_READ_PART's grants key: the user's grants cached under one RBAC version. */
  private grantsKey(organizationId: string, version: string, userId: string): string {
    return `${this.grantsPrefix(organizationId)}${version}:${userId}`;
  }

  /**
   * Within one request the guard and the service both ask (e.g. "holds customers:read?" then "which
   * departments?"): the first answer is kept on the request context, so Redis is asked once per request.
   */
  grantsOf(organizationId: string, userId: string): Promise<Grant[]> {
    const known = this.known(organizationId, userId);
    if (known) return Promise.resolve(known);
    const context = currentContext();
    if (!context) return this.fetch(organizationId, userId, this.read(organizationId, userId));
    const memo = this.memoOf(context);
    const key = `${organizationId}:${userId}`;
    let grants = memo.grants.get(key);
    if (!grants) {
      const read = memo.reads.get(key) ?? this.read(organizationId, userId);
      memo.reads.delete(key);
      grants = this.fetch(organizationId, userId, read);
      memo.grants.set(key, grants);
      // A failed lookup must not be remembered for the rest of the request.
      grants.catch(() => memo.grants.delete(key));
    }
    return grants;
  }

  /** Keys and arguments of GRANTS_READ_PART for this user. */
  lookupCall(organizationId: string, userId: string): LookupCall {
    return { keys: [this.versionKey(organizationId)], args: [this.grantsPrefix(organizationId), userId] };
  }

  /**
   * Keeps this request's Redis read of the grants (GRANTS_READ_PART's reply, started by the JWT guard with
   * the session lookup in one script call: CallerLookups) for grantsOf to finish later. Only the read: a miss
   * is loaded from PostgreSQL when grantsOf is called, i.e. after the session has been checked, never for a
   * refused request.
   */
  adoptRead(organizationId: string, userId: string, reply: Promise<unknown>): void {
    const ticket = this.near.ticket();
    const read = reply.then(
      (value) => this.remember(ticket, organizationId, userId, value as CachedRead),
      () => null,
    );
    const context = currentContext();
    if (!context) return;
    const memo = this.memoOf(context);
    const key = `${organizationId}:${userId}`;
    if (!memo.grants.has(key) && !memo.reads.has(key)) memo.reads.set(key, read);
  }

  private memoOf(context: RequestContext): RequestMemo {
    let memo = this.perRequest.get(context);
    if (!memo) this.perRequest.set(context, (memo = { grants: new Map(), reads: new Map() }));
    return memo;
  }

  /** Never rejects: Redis unreachable reads as null (then PostgreSQL answers). */
  private read(organizationId: string, userId: string): Promise<CachedRead> {
    const ticket = this.near.ticket();
    return READ_SCRIPT.run(
      this.redis,
      [this.versionKey(organizationId)],
      [this.grantsPrefix(organizationId), userId],
    ).then(
      (reply) => this.remember(ticket, organizationId, userId, reply as CachedRead),
      () => null,
    );
  }

  /** The grants as this process knows them without asking anyone (NearCache), or undefined. */
  private known(organizationId: string, userId: string): Grant[] | undefined {
    const version = this.near.get(this.versionKey(organizationId));
    if (version === undefined) return undefined;
    const grants = this.near.get(this.grantsKey(organizationId, version, userId));
    if (typeof grants !== 'string' || this.availability.distrusts(GRANTS_TTL_SECONDS * 1000)) return undefined;
    return this.parsed.parse(`${organizationId}:${userId}`, grants);
  }

  /** Keeps what Redis answered (read under `ticket`) in this process. */
  private remember(ticket: number, organizationId: string, userId: string, read: CachedRead): CachedRead {
    if (!read) return read;
    const [version, grants] = read;
    this.near.fill(ticket, this.versionKey(organizationId), version);
    if (grants) this.near.fill(ticket, this.grantsKey(organizationId, version, userId), grants);
    return read;
  }

  private async fetch(organizationId: string, userId: string, read: Promise<CachedRead>): Promise<Grant[]> {
    const cached = await read;
    if (cached?.[1] && !this.availability.distrusts(GRANTS_TTL_SECONDS * 1000)) {
      return this.parsed.parse(`${organizationId}:${userId}`, cached[1]);
    }
    const grants = await this.load(organizationId, userId);
    if (cached) {
      const key = this.grantsKey(organizationId, cached[0], userId);
      await this.redis.set(key, JSON.stringify(grants), 'EX', GRANTS_TTL_SECONDS).catch(() => undefined);
    }
    return grants;
  }

  /** Called after every RBAC change in the organization (after commit). */
  async invalidate(organizationId: string): Promise<void> {
    // A request that changed grants and checks again afterwards must see the change.
    const context = currentContext();
    if (context) this.perRequest.delete(context);
    this.near.forget(this.versionKey(organizationId));
    const bump = () => this.redis.incr(this.versionKey(organizationId));
    await bump().catch(() => this.availability.replayWhenBack(this.versionKey(organizationId), bump));
  }

  private async load(organizationId: string, userId: string): Promise<Grant[]> {
    const rows: Array<{
      pattern: string;
      role_id: string;
      role_name: string;
      assignment_id: string;
      department_id: string | null;
      department_path: string | null;
    }> = await this.dataSource.query(
      `SELECT rp.permission AS pattern, r.id AS role_id, r.name AS role_name, a.id AS assignment_id,
              a.department_id, d.path AS department_path
         FROM role_assignments a
         JOIN roles r ON r.id = a.role_id
         JOIN role_permissions rp ON rp.role_id = r.id
         LEFT JOIN departments d ON d.id = a.department_id
        WHERE a.organization_id = $1 AND a.user_id = $2
        ORDER BY a.department_id NULLS FIRST, rp.permission`,
      [organizationId, userId],
    );
    return rows.map((row) => ({
      pattern: row.pattern,
      roleId: row.role_id,
      roleName: row.role_name,
      assignmentId: row.assignment_id,
      departmentId: row.department_id,
      departmentPath: row.department_path,
    }));
  }
}
