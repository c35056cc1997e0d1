import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import type { CustomerStatus } from '../../src/modules/customers/customer.entity';

/** A customer row as a test describes it; everything but the organization has a default. */
export interface CustomerFixture {
  id?: string;
  name?: string;
  email?: string | null;
  phone?: string | null;
  company?: string | null;
  status?: CustomerStatus;
  tags?: string[];
  ownerId?: string | null;
  departmentId?: string | null;
  /** The database's now() by default; updatedAt defaults to createdAt. */
  createdAt?: Date;
  updatedAt?: Date;
  deletedAt?: Date | null;
}

export interface InsertedCustomer extends Required<Omit<CustomerFixture, 'createdAt' | 'updatedAt'>> {
  organizationId: string;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Inserts customers with SQL (not through the API), so a test controls timestamps and can build large or
 * deliberately tied data sets. Returns the rows as stored.
 */
export async function insertCustomers(
  app: NestFastifyApplication,
  organizationId: string,
  fixtures: CustomerFixture[],
): Promise<InsertedCustomer[]> {
  const db = app.get(DataSource);
  const inserted: InsertedCustomer[] = [];
  for (const fixture of fixtures) {
    const id = fixture.id ?? randomUUID();
    const [row] = await db.query<{ created_at: Date; updated_at: Date }[]>(
      `INSERT INTO customers (id, organization_id, department_id, owner_id, name, email, phone, company, status, tags,
                              created_at, updated_at, deleted_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, COALESCE($11::timestamptz, now()),
               COALESCE($12::timestamptz, $11::timestamptz, now()), $13)
       RETURNING created_at, updated_at`,
      [
        id,
        organizationId,
        fixture.departmentId ?? null,
        fixture.ownerId ?? null,
        fixture.name ?? `Customer ${id.slice(0, 8)}`,
        fixture.email ?? null,
        fixture.phone ?? null,
        fixture.company ?? null,
        fixture.status ?? 'lead',
        fixture.tags ?? [],
        fixture.createdAt ?? null,
        fixture.updatedAt ?? null,
        fixture.deletedAt ?? null,
      ],
    );
    inserted.push({
      id,
      organizationId,
      name: fixture.name ?? `Customer ${id.slice(0, 8)}`,
      email: fixture.email ?? null,
      phone: fixture.phone ?? null,
      company: fixture.company ?? null,
      status: fixture.status ?? 'lead',
      tags: fixture.tags ?? [],
      ownerId: fixture.ownerId ?? null,
      departmentId: fixture.departmentId ?? null,
      deletedAt: fixture.deletedAt ?? null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    });
  }
  return inserted;
}
