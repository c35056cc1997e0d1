import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { TransactionRunner } from '../../core/database/transaction.runner';
import { PasswordHasher } from '../../core/security/password-hasher';
import { randomToken } from '../../core/security/random-code';
import { OrganizationsService } from '../organizations/organizations.service';
import { RbacProvisioner } from '../rbac/roles/rbac-provisioner';
import { UsersService } from '../users/users.service';

/**
 * SEED_DEMO: on an empty database, create a demo organization and its owner, so a fresh `npm start` has
 * someone to log in as. A generated password is printed once; it is never stored in clear.
 */
@Injectable()
export class DemoSeeder implements OnApplicationBootstrap {
  private readonly logger = new Logger(DemoSeeder.name);

  constructor(
    private readonly organizations: OrganizationsService,
    private readonly users: UsersService,
    private readonly hasher: PasswordHasher,
    private readonly tx: TransactionRunner,
    private readonly rbac: RbacProvisioner,
    private readonly config: AppConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.config.seed.enabled) await this.seedIfEmpty();
  }

  /** Returns the owner's credentials when it seeded, null when organizations already exist. */
  async seedIfEmpty(): Promise<{ email: string; password: string; generated: boolean } | null> {
    if ((await this.organizations.count()) > 0) return null;
    const { organizationName, adminEmail } = this.config.seed;
    const generated = !this.config.seed.adminPassword;
    const password = this.config.seed.adminPassword ?? `demo-${randomToken(12)}`;
    const passwordHash = await this.hasher.hash(password);
    await this.tx.run(async (m) => {
      const organization = await this.organizations.create(organizationName, m);
      const owner = await this.users.create(
        {
          organizationId: organization.id,
          email: adminEmail.toLowerCase(),
          name: 'Demo Admin',
          status: 'active',
          passwordHash,
        },
        m,
      );
      await this.users.update(owner.id, { emailVerifiedAt: new Date() }, m);
      await this.organizations.update(organization.id, { ownerId: owner.id }, m);
      await this.rbac.provisionOrganization(organization.id, owner.id, m);
    });
    this.logger.warn(
      `seeded demo organization "${organizationName}" with owner ${adminEmail}` +
        (generated ? ` and generated password ${password} (shown once; set DEMO_ADMIN_PASSWORD to choose it)` : ''),
    );
    return { email: adminEmail, password, generated };
  }
}
