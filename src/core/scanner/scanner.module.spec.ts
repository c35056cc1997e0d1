import { Test } from '@nestjs/testing';
import { AppConfig } from '../../config/app.config';
import { ConfigModule } from '../../config/config.module';
import { ClamavScanner } from './clamav.scanner';
import { ScannerModule } from './scanner.module';
import { VIRUS_SCANNER } from './virus-scanner';

async function resolveScanner(env: Record<string, string>): Promise<unknown> {
  const moduleRef = await Test.createTestingModule({
    imports: [ConfigModule.forRoot(AppConfig.fromEnv({ NODE_ENV: 'test', ...env })), ScannerModule],
  }).compile();
  try {
    return moduleRef.get(VIRUS_SCANNER);
  } finally {
    await moduleRef.close();
  }
}

describe(ScannerModule.name, () => {
  it('should provide null when scanning is off', async () => {
    await expect(resolveScanner({})).resolves.toBeNull();
  });

  it('should provide a ClamavScanner when clamd is configured', async () => {
    await expect(resolveScanner({ CLAMAV_HOST: '127.0.0.1' })).resolves.toBeInstanceOf(ClamavScanner);
    await expect(resolveScanner({ CLAMAV_SOCKET: '/run/clamav/clamd.ctl' })).resolves.toBeInstanceOf(ClamavScanner);
  });
});
