import { ValidationException } from '../exceptions/app.exception';
import { PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH, PasswordPolicy, type PasswordContext } from './password-policy';

const policy = new PasswordPolicy();

/** The message of the ValidationException `check` throws, failing the test if it throws anything else. */
function refusal(password: string, context?: PasswordContext): string {
  let caught: unknown;
  try {
    policy.check(password, context);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ValidationException);
  const { errors, status } = caught as ValidationException;
  expect(status).toBe(400);
  expect(errors).toHaveLength(1);
  expect(errors[0].field).toBe('password');
  return errors[0].message;
}

describe(PasswordPolicy.name, () => {
  it('should accept a password when it is exactly the minimum and exactly the maximum length', () => {
    expect(PASSWORD_MIN_LENGTH).toBe(12);
    expect(PASSWORD_MAX_LENGTH).toBe(128);
    expect(() => policy.check('kx7-vbq-m2pw')).not.toThrow();
    expect(() => policy.check('kx7-vbq-m2pw'.repeat(11).slice(0, 128))).not.toThrow();
  });

  it('should refuse a password when it is shorter than 12 characters', () => {
    expect(refusal('kx7-vbq-m2p')).toBe('password must be at least 12 characters long');
    expect(refusal('')).toMatch(/at least 12 characters/);
  });

  it('should refuse a password when it is longer than 128 characters', () => {
    expect(refusal('kx7-vbq-m2pw'.repeat(11).slice(0, 129))).toBe('password must be at most 128 characters long');
  });

  it('should count Unicode code points after NFC when measuring length', () => {
    // 12 accented letters typed decomposed: 24 UTF-16 units, 12 characters once composed.
    const decomposed = 'é'.repeat(6).normalize('NFD') + 'ü'.repeat(6).normalize('NFD');
    expect(decomposed).toHaveLength(24);
    expect(() => policy.check(decomposed)).not.toThrow();
    // 11 emoji are 22 UTF-16 units but 11 characters: too short.
    expect(refusal('🔑'.repeat(11))).toMatch(/at least 12 characters/);
    // 128 emoji are 256 UTF-16 units but 128 characters: allowed.
    expect(() => policy.check('🔑'.repeat(128))).not.toThrow();
  });

  it.each(['password1234', 'qwertyuiop123', '123456789012', 'iloveyou1234', 'PassWord1234', 'QWERTYUIOP123'])(
    'should refuse %p when it is a common password in any letter case',
    (password) => {
      expect(refusal(password)).toBe('password is too common: it appears in lists of leaked passwords');
    },
  );

  it('should refuse the password when it is the email address or its local part', () => {
    const context = { email: 'Margaret.Hamilton@example.com' };
    expect(refusal('margaret.hamilton@example.com', context)).toBe('password must not be your email address');
    expect(refusal('MARGARET.HAMILTON', context)).toBe('password must not be your email address');
    expect(() => policy.check('margaret.hamilton!', context)).not.toThrow();
  });

  it('should refuse the password when it is the name', () => {
    expect(refusal('margaret hamilton', { name: 'Margaret Hamilton' })).toBe('password must not be your name');
  });

  it('should accept an uncommon password when it matches nothing in the context', () => {
    expect(() =>
      policy.check('lunar module 1202 alarm', { email: 'margaret@example.com', name: 'Margaret Hamilton' }),
    ).not.toThrow();
  });
});
