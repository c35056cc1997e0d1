import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { OrganizationsModule } from '../organizations/organizations.module';
import { UsersModule } from '../users/users.module';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { DemoSeeder } from './demo-seeder';
import { EmailOtp } from './email-otp.entity';
import { EmailOtpService } from './email-otp.service';
import { JwksController } from './jwks.controller';
import { JwtAuthGuard } from './jwt-auth.guard';
import { MfaChallengeStore } from './mfa-challenge.store';
import { OtpController } from './otp.controller';
import { AccountController } from './account.controller';
import { AccountService } from './account.service';
import { RecoveryCode } from './recovery-code.entity';
import { RefreshToken } from './sessions/refresh-token.entity';
import { SessionStateStore } from './sessions/session-state.store';
import { Session } from './sessions/session.entity';
import { SessionService } from './sessions/session.service';
import { SessionsController } from './sessions.controller';
import { AccessTokens } from './tokens/access-token.service';
import { JwtKeys } from './tokens/jwt-keys.service';
import { TwoFactorController } from './two-factor.controller';
import { TwoFactorService } from './two-factor.service';

@Module({
  imports: [
    TypeOrmModule.forFeature([Session, RefreshToken, RecoveryCode, EmailOtp]),
    UsersModule,
    OrganizationsModule,
  ],
  controllers: [
    AuthController,
    SessionsController,
    TwoFactorController,
    OtpController,
    AccountController,
    JwksController,
  ],
  providers: [
    JwtKeys,
    AccessTokens,
    SessionStateStore,
    SessionService,
    MfaChallengeStore,
    TwoFactorService,
    EmailOtpService,
    AuthService,
    AccountService,
    JwtAuthGuard,
    DemoSeeder,
  ],
  exports: [JwtAuthGuard, SessionService, AuthService, EmailOtpService, DemoSeeder],
})
export class AuthModule {}
