import { Global, Module } from '@nestjs/common';
import { PasswordHasher } from './password-hasher';
import { PasswordPolicy } from './password-policy';
import { SecretBox } from './secret-box';
import { TotpService } from './totp';

/** Password hashing and policy, secret encryption and TOTP, for every feature that handles credentials. */
@Global()
@Module({
  providers: [PasswordHasher, PasswordPolicy, SecretBox, TotpService],
  exports: [PasswordHasher, PasswordPolicy, SecretBox, TotpService],
})
export class SecurityModule {}
