import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LightMyRequestResponse } from 'fastify';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { bearer, registerOwner, TEST_PASSWORD, type TestAccount } from '../../helpers/auth';
import { insertMember } from '../../helpers/fixtures';
import type { HttpMethod } from './route-table';

/*
 * Organizations and real objects for the attack specs, created through the API (so every service runs its
 * own rules: partitions, slugs, audit chain, grant cache) except where only SQL can reach (members).
 */

export type Json = Record<string, unknown>;

/** What a request carries besides its URL: a JSON body, or raw bytes with their own content type. */
export interface RequestBody {
  json?: unknown;
  raw?: { payload: string | Buffer; contentType: string };
}

export function send(
  app: NestFastifyApplication,
  method: HttpMethod,
  url: string,
  token: string | null,
  body: RequestBody = {},
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  const auth = token ? bearer(token) : {};
  if (body.raw) {
    return app.inject({
      method,
      url,
      payload: body.raw.payload,
      headers: { ...auth, ...headers, 'content-type': body.raw.contentType },
    });
  }
  return app.inject({
    method,
    url,
    headers: { ...auth, ...headers },
    ...(body.json === undefined ? {} : { payload: body.json as Json }),
  });
}

/** The response's JSON, failing the test with the body when the status is not the expected one. */
export function expectJson<T>(res: LightMyRequestResponse, status: number, what: string): T {
  if (res.statusCode !== status) throw new Error(`${what}: expected ${status}, got ${res.statusCode} ${res.body}`);
  return (res.body ? res.json<T>() : undefined) as T;
}

/** The session id (`sid`) inside an access token. */
export function sessionOf(accessToken: string): string {
  const payload = JSON.parse(Buffer.from(accessToken.split('.')[1], 'base64url').toString('utf8')) as { sid: string };
  return payload.sid;
}

/** A tiny but well-formed PDF: the cheapest file the media module accepts. */
export function tinyPdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\n' +
      `% ${randomBytes(8).toString('hex')}\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}

/** multipart/form-data with one `file` part. */
export function multipartFile(data: Buffer, filename: string, contentType: string): RequestBody['raw'] {
  const boundary = `----atrium-security-${randomBytes(8).toString('hex')}`;
  const payload = Buffer.concat([
    Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n` +
        `Content-Type: ${contentType}\r\n\r\n`,
    ),
    data,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { payload, contentType: `multipart/form-data; boundary=${boundary}` };
}

/**
 * One organization seen from its owner (organization-wide `*:*`): creates objects of every kind through the
 * API. Every object lands in `departmentId` unless told otherwise.
 */
export class OrgFixture {
  private constructor(
    readonly app: NestFastifyApplication,
    readonly owner: TestAccount,
    readonly slug: string,
  ) {}

  static async create(app: NestFastifyApplication, label: string): Promise<OrgFixture> {
    const owner = await registerOwner(app, label);
    const org = expectJson<{ slug: string }>(
      await send(app, 'GET', '/api/v1/organizations/current', owner.accessToken),
      200,
      'GET /organizations/current',
    );
    return new OrgFixture(app, owner, org.slug);
  }

  get id(): string {
    return this.owner.organizationId;
  }

  get db(): DataSource {
    return this.app.get(DataSource);
  }

  private async call<T>(method: HttpMethod, path: string, status: number, body: RequestBody = {}): Promise<T> {
    const res = await send(this.app, method, `/api/v1${path}`, this.owner.accessToken, body);
    return expectJson<T>(res, status, `${method} ${path}`);
  }

  async department(parentId?: string): Promise<string> {
    const name = `dept-${randomBytes(4).toString('hex')}`;
    return (await this.call<{ id: string }>('POST', '/departments', 201, { json: { name, parentId } })).id;
  }

  async customer(departmentId: string | null, options: { deleted?: boolean; name?: string } = {}): Promise<string> {
    // Letters only: the customer search's typo-tolerant mode would rightly find a digit run of the tag for a
    // query such as `%25%` (its word is `25`), which the wildcard tests expect to match nothing.
    const tag = randomBytes(4)
      .toString('hex')
      .replace(/[0-9]/g, (digit) => 'ghijklmnop'[Number(digit)]);
    const { id } = await this.call<{ id: string }>('POST', '/customers', 201, {
      json: { name: options.name ?? `Customer ${tag}`, email: `c-${tag}@example.test`, departmentId },
    });
    if (options.deleted) await this.call('DELETE', `/customers/${id}`, 204);
    return id;
  }

  async activity(customerId: string): Promise<string> {
    const body = { json: { type: 'note', body: 'met at the fair' } };
    return (await this.call<{ id: string }>('POST', `/customers/${customerId}/activities`, 201, body)).id;
  }

  async customerImport(departmentId: string | null): Promise<string> {
    const query = departmentId ? `?departmentId=${departmentId}` : '';
    const csv = `name,email\r\nImported ${randomBytes(3).toString('hex')},i-${randomBytes(4).toString('hex')}@example.test\r\n`;
    const body = { raw: { payload: csv, contentType: 'text/csv' } };
    return (await this.call<{ id: string }>('POST', `/customers/import${query}`, 202, body)).id;
  }

  async post(departmentId: string | null, status: 'draft' | 'published' | 'archived' = 'draft') {
    const title = `Post ${randomBytes(4).toString('hex')}`;
    const post = await this.call<{ id: string; slug: string }>('POST', '/posts', 201, {
      json: { title, body: 'text', departmentId },
    });
    if (status !== 'draft') await this.call('POST', `/posts/${post.id}/publish`, 200);
    if (status === 'archived') await this.call('POST', `/posts/${post.id}/archive`, 200);
    return post;
  }

  /** A member of the organization (SQL: no invitation round trip), in `departmentId`. */
  async member(departmentId: string | null): Promise<string> {
    return (await insertMember(this.app, this.id, { departmentId })).id;
  }

  async role(permissions: string[] = []): Promise<string> {
    const name = `role-${randomBytes(4).toString('hex')}`;
    return (await this.call<{ id: string }>('POST', '/roles', 201, { json: { name, permissions } })).id;
  }

  async assignment(userId: string, roleId: string, departmentId: string | null): Promise<string> {
    const scope = departmentId ? { type: 'department', departmentId } : { type: 'organization' };
    return (await this.call<{ id: string }>('POST', `/users/${userId}/roles`, 201, { json: { roleId, scope } })).id;
  }

  /** Another session of the owner (a second device). */
  async session(): Promise<string> {
    const res = await send(this.app, 'POST', '/api/v1/auth/login', null, {
      json: { email: this.owner.email, password: TEST_PASSWORD },
    });
    return sessionOf(expectJson<{ accessToken: string }>(res, 200, 'login').accessToken);
  }

  /** The newest entry of the organization's audit trail (made now, so there is one). */
  async auditEntry(): Promise<string> {
    await this.department();
    const page = await this.call<{ data: { id: string }[] }>('GET', '/audit-logs?limit=1', 200);
    return page.data[0].id;
  }

  async ping(): Promise<string> {
    return (await this.call<{ id: string }>('POST', '/system/pings', 202, { json: {} })).id;
  }

  async media(departmentId: string | null): Promise<{ id: string; objectKey: string }> {
    const query = departmentId ? `?departmentId=${departmentId}` : '';
    const { id } = await this.call<{ id: string }>('POST', `/media${query}`, 201, {
      raw: multipartFile(tinyPdf(), 'brochure.pdf', 'application/pdf'),
    });
    const [row] = await this.db.query<{ object_key: string }[]>('SELECT object_key FROM media WHERE id = $1', [id]);
    return { id, objectKey: row.object_key };
  }

  async mediaUpload(departmentId: string | null): Promise<string> {
    const json = { filename: 'brochure.pdf', ...(departmentId ? { departmentId } : {}) };
    return (await this.call<{ id: string }>('POST', '/media/uploads', 201, { json })).id;
  }
}

/** A database row (or any query) whose JSON must not change while it is attacked. */
export interface Watched {
  label: string;
  sql: string;
  params: unknown[];
}

export function row(table: string, id: string): Watched {
  return { label: `${table} ${id}`, sql: `SELECT to_jsonb(t) AS v FROM ${table} t WHERE id = $1`, params: [id] };
}

export async function snapshot(db: DataSource, watched: readonly Watched[]): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const w of watched) {
    const rows = await db.query<{ v: unknown }[]>(w.sql, w.params);
    out[w.label] = rows.map((r) => r.v);
  }
  return out;
}
