import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AuthModule } from '../auth/auth.module';
import { User } from './user.entity';
import { UsersAdminRepository } from './users-admin.repository';
import { UsersAdminService } from './users-admin.service';
import { UsersController } from './users.controller';
import { UsersModule } from './users.module';

/** The user administration routes; separate from UsersModule because they need auth, which needs users. */
@Module({
  imports: [TypeOrmModule.forFeature([User]), UsersModule, AuthModule],
  controllers: [UsersController],
  providers: [UsersAdminRepository, UsersAdminService],
})
export class UsersApiModule {}
