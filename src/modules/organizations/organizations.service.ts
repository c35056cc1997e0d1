import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { type EntityManager, type Repository } from 'typeorm';
import { uuidv7 } from '../../core/database/uuidv7';
import { Organization } from './organization.entity';
import { OrganizationException, OrganizationExceptionCode } from './organization.exception';

function slugify(name: string): string {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 48)
    .replace(/-+$/g, '');
  return base || 'org';
}

@Injectable()
export class OrganizationsService {
  constructor(@InjectRepository(Organization) private readonly organizations: Repository<Organization>) {}

  private repo(manager?: EntityManager): Repository<Organization> {
    return manager ? manager.getRepository(Organization) : this.organizations;
  }

  /**
   * Creates an organization with a unique slug derived from its name (a random suffix is added on collision).
   * The slug is claimed by the INSERT itself (ON CONFLICT DO NOTHING): a check-then-insert would let two
   * registrations of the same name race to a unique violation, and inside the caller's transaction the loser
   * could not even retry.
   */
  async create(name: string, manager?: EntityManager): Promise<Organization> {
    const base = slugify(name);
    const now = new Date();
    for (let attempt = 0; attempt < 8; attempt++) {
      const organization: Organization = {
        id: uuidv7(),
        name,
        slug: attempt === 0 ? base : `${base}-${randomBytes(3).toString('hex')}`,
        ownerId: null,
        requireTwoFactor: false,
        createdAt: now,
        updatedAt: now,
      };
      const inserted = await this.repo(manager).query<unknown[]>(
        `INSERT INTO organizations (id, name, slug, owner_id, require_two_factor, created_at, updated_at)
         VALUES ($1, $2, $3, NULL, false, $4, $4) ON CONFLICT (slug) DO NOTHING RETURNING id`,
        [organization.id, name, organization.slug, now],
      );
      if (inserted.length === 1) return organization;
    }
    throw new Error('could not find a free organization slug');
  }

  async get(id: string, manager?: EntityManager): Promise<Organization> {
    const organization = await this.repo(manager).findOneBy({ id });
    if (!organization) throw new OrganizationException(OrganizationExceptionCode.NotFound, 'No such organization.');
    return organization;
  }

  count(): Promise<number> {
    return this.organizations.count();
  }

  async update(
    id: string,
    changes: Partial<Pick<Organization, 'name' | 'ownerId' | 'requireTwoFactor'>>,
    manager?: EntityManager,
  ): Promise<void> {
    await this.repo(manager).update({ id }, { ...changes, updatedAt: new Date() });
  }

  async delete(id: string, manager?: EntityManager): Promise<void> {
    await this.repo(manager).delete({ id });
  }
}
