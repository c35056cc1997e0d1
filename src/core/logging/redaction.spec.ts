import pino, { type Logger } from 'pino';
import { REDACTED_PATHS } from './logging.module';

/** Every credential-bearing field name REDACTED_PATHS must cover, at any depth up to two levels down. */
const SECRET_KEYS = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'accessToken',
  'refreshToken',
  'mfaToken',
  'code',
  'secret',
  'recoveryCodes',
];

function memoryLogger(): { logger: Logger; output: () => string } {
  const lines: string[] = [];
  const logger = pino(
    { level: 'info', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } },
    { write: (line: string) => lines.push(line) },
  );
  return { logger, output: () => lines.join('') };
}

describe('REDACTED_PATHS', () => {
  it('should censor the authorization, cookie and api key headers when a request is logged', () => {
    const { logger, output } = memoryLogger();
    logger.info(
      {
        req: {
          method: 'GET',
          headers: { authorization: 'Bearer s3cr3t-jwt', cookie: 'sid=s3cr3t-cookie', 'x-api-key': 's3cr3t-key' },
        },
        res: { headers: { 'set-cookie': 'sid=s3cr3t-set-cookie' } },
      },
      'request',
    );
    const line = output();
    expect(line).not.toMatch(/s3cr3t/);
    expect(JSON.parse(line)).toMatchObject({
      req: {
        method: 'GET',
        headers: { authorization: '[redacted]', cookie: '[redacted]', 'x-api-key': '[redacted]' },
      },
      res: { headers: { 'set-cookie': '[redacted]' } },
    });
  });

  it('should censor credentials inside a logged body and keep the other fields when logged one level down', () => {
    const { logger, output } = memoryLogger();
    logger.info({ body: { email: 'ada@example.test', password: 'p4ss', refreshToken: 'r3fresh', code: '123456' } });
    const line = output();
    expect(line).not.toContain('p4ss');
    expect(line).not.toContain('r3fresh');
    expect(line).not.toContain('123456');
    expect(JSON.parse(line)).toMatchObject({
      body: { email: 'ada@example.test', password: '[redacted]', refreshToken: '[redacted]', code: '[redacted]' },
    });
  });

  it('should censor a top-level password when logged', () => {
    const { logger, output } = memoryLogger();
    logger.info({ password: 'p4ss', user: 'ada' }, 'login');
    const line = output();
    expect(line).not.toContain('p4ss');
    expect(JSON.parse(line)).toMatchObject({ password: '[redacted]', user: 'ada', msg: 'login' });
  });

  it.each(SECRET_KEYS)('should censor "%s" when logged at the top level, one or two levels down', (key) => {
    const { logger, output } = memoryLogger();
    const secret = `secret-value-of-${key}`;
    logger.info({ [key]: secret });
    logger.info({ body: { [key]: secret } });
    logger.info({ req: { body: { [key]: secret } } });
    const text = output();
    expect(text).not.toContain(secret);
    expect(text.match(/\[redacted\]/g)).toHaveLength(3);
  });

  it('should not redact when fields only resemble a secret name', () => {
    const { logger, output } = memoryLogger();
    logger.info({ body: { passwordHint: 'hint', tokenCount: 3, postalCode: '75001' } });
    expect(JSON.parse(output())).toMatchObject({ body: { passwordHint: 'hint', tokenCount: 3, postalCode: '75001' } });
  });
});
