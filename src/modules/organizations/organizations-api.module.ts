import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { OrganizationsController } from './organizations.controller';
import { OrganizationsModule } from './organizations.module';

/** The organization routes; separate from OrganizationsModule because they need auth, which needs organizations. */
@Module({
  imports: [OrganizationsModule, AuthModule],
  controllers: [OrganizationsController],
})
export class OrganizationsApiModule {}
