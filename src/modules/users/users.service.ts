import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { type EntityManager, type Repository } from 'typeorm';
import { uuidv7 } from '../../core/database/uuidv7';
import { User, type UserStatus } from './user.entity';

export interface NewUser {
  organizationId: string;
  email: string;
  name: string;
  status: UserStatus;
  passwordHash: string | null;
  /** Null (the default) for an organization-level user. */
  departmentId?: string | null;
}

/** A user with the columns that are never selected by default (hashes, sealed secrets). */
export type UserWithSecrets = User & { passwordHash: string | null; totpSecret: string | null };

/** The users table; other modules reach it only through this service. */
@Injectable()
export class UsersService {
  constructor(@InjectRepository(User) private readonly users: Repository<User>) {}

  private repo(manager?: EntityManager): Repository<User> {
    return manager ? manager.getRepository(User) : this.users;
  }

  async create(input: NewUser, manager?: EntityManager): Promise<User> {
    const now = new Date();
    const user = this.repo(manager).create({
      departmentId: null,
      ...input,
      id: uuidv7(),
      emailVerifiedAt: null,
      totpSecret: null,
      totpEnabledAt: null,
      totpLastStep: null,
      failedLoginCount: 0,
      lockoutCount: 0,
      lockedUntil: null,
      version: 1,
      createdAt: now,
      updatedAt: now,
    });
    await this.repo(manager).insert(user);
    return user;
  }

  findById(id: string, manager?: EntityManager): Promise<User | null> {
    return this.repo(manager).findOneBy({ id });
  }

  existsByEmail(email: string, manager?: EntityManager): Promise<boolean> {
    return this.repo(manager).existsBy({ email });
  }

  /** With hashes and the sealed TOTP secret; `lock` takes a row lock for read-modify-write in a transaction. */
  findWithSecrets(
    where: { id: string } | { email: string },
    manager?: EntityManager,
    lock = false,
  ): Promise<UserWithSecrets | null> {
    const qb = this.repo(manager)
      .createQueryBuilder('u')
      .addSelect(['u.passwordHash', 'u.totpSecret'])
      .where('id' in where ? 'u.id = :id' : 'u.email = :email', where);
    if (lock) qb.setLock('pessimistic_write');
    return qb.getOne();
  }

  async update(id: string, changes: Partial<UserWithSecrets>, manager?: EntityManager): Promise<void> {
    await this.repo(manager)
      .createQueryBuilder()
      .update(User)
      .set({ ...changes, updatedAt: new Date(), version: () => 'version + 1' })
      .where('id = :id', { id })
      .execute();
  }
}
