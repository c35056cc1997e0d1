import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { uuidv7 } from '../../src/core/database/uuidv7';
import type { CustomerStatus } from '../../src/modules/customers/customer.entity';

export interface CustomerFixture {
  name?: string;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
  status?: CustomerStatus;
  tags?: string[];
  ownerId?: string | null;
  departmentId?: string | null;
  createdAt?: Date;
  deleted?: boolean;
}

/** A customer inserted with SQL, behind every service (and cache) of the app. */
export async function insertCustomer(
  app: NestFastifyApplication,
  organizationId: string,
  fixture: CustomerFixture = {},
): Promise<string> {
  const id = uuidv7();
  await app.get(DataSource).query(
    `INSERT INTO customers (id, organization_id, department_id, owner_id, name, email, phone, company, status, tags,
                            created_at, deleted_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11::timestamptz, now()),
             CASE WHEN $12 THEN now() END)`,
    [
      id,
      organizationId,
      fixture.departmentId ?? null,
      fixture.ownerId ?? null,
      fixture.name ?? `Customer ${randomUUID().slice(0, 6)}`,
      fixture.email === undefined ? `c-${randomUUID().slice(0, 8)}@customer.test` : fixture.email,
      fixture.phone ?? null,
      fixture.company ?? null,
      fixture.status ?? 'lead',
      fixture.tags ?? [],
      fixture.createdAt ?? null,
      fixture.deleted ?? false,
    ],
  );
  return id;
}
