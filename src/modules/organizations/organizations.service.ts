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

  /** Creates an organization with a unique slug derived from its name (a suffix is added on collision). */
  async create(name: string, manager?: EntityManager): Promise<Organization> {
    const base = slugify(name);
    let slug = base;
    for (let attempt = 0; await this.repo(manager).existsBy({ slug }); attempt++) {
      slug = `${base}-${randomBytes(3).toString('hex')}`;
      if (attempt > 5) throw new Error('could not find a free organization slug');
    }
    const now = new Date();
    const organization = this.repo(manager).create({
      id: uuidv7(),
      name,
      slug,
      ownerId: null,
      requireTwoFactor: false,
      createdAt: now,
      updatedAt: now,
    });
    await this.repo(manager).insert(organization);
    return organization;
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
