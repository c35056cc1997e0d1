import { Test } from '@nestjs/testing';
import { AppConfig } from '../../config/app.config';
import { ConfigModule } from '../../config/config.module';
import { PasswordHasher } from './password-hasher';
import { PasswordPolicy } from './password-policy';
import { SecretBox } from './secret-box';
import { SecurityModule } from './security.module';
import { TotpService } from './totp';

describe(SecurityModule.name, () => {
  it('should provide every security service wired to the configuration when initialised', async () => {
    const config = AppConfig.fromEnv({ NODE_ENV: 'test', BCRYPT_COST: '4' });
    const moduleRef = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(config), SecurityModule],
    }).compile();
    await moduleRef.init();
    try {
      const hasher = moduleRef.get(PasswordHasher);
      await expect(
        hasher.verify('a perfectly fine passphrase', await hasher.hash('a perfectly fine passphrase')),
      ).resolves.toBe(true);
      expect(moduleRef.get(PasswordPolicy)).toBeInstanceOf(PasswordPolicy);
      const box = moduleRef.get(SecretBox);
      expect(box.open(box.seal('secret', 'user'), 'user')).toBe('secret');
      expect(moduleRef.get(TotpService).keyUri('a@example.com', 'ABC')).toContain('issuer=Atrium');
    } finally {
      await moduleRef.close();
    }
  });
});
