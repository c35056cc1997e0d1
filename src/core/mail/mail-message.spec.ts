import { otpMail, type OtpPurpose } from './mail-message';

const APP_URL = 'https://app.atrium.test';

describe(otpMail.name, () => {
  const purposes: [OtpPurpose, RegExp][] = [
    ['login', /sign-in/],
    ['verify_email', /email verification/],
    ['reset_password', /password reset/],
    ['invite', /invitation/],
  ];

  it.each(purposes)('should name what the %s code is for and when it expires in the subject', (purpose, what) => {
    const { subject } = otpMail(purpose, '123456', 10, APP_URL);
    expect(subject).toMatch(what);
    expect(subject).toContain('expires in 10 minutes');
  });

  it.each(purposes)('should never put the %s code in the subject', (purpose) => {
    expect(otpMail(purpose, '918273', 10, APP_URL).subject).not.toContain('918273');
  });

  it.each(purposes)('should give the %s code once in the text, with its lifetime and the app url', (purpose) => {
    const { text } = otpMail(purpose, '918273', 15, APP_URL);
    expect(text.split('918273')).toHaveLength(2);
    expect(text).toMatch(/^ {4}918273$/m);
    expect(text).toContain('expires in 15 minutes');
    expect(text).toContain(APP_URL);
  });

  it('should say what the code is for in the text when the purposes differ', () => {
    const texts = purposes.map(([purpose]) => otpMail(purpose, '123456', 10, APP_URL).text);
    expect(new Set(texts).size).toBe(purposes.length);
    expect(texts[0]).toContain('signing in');
    expect(texts[1]).toContain('verify your email address');
    expect(texts[2]).toContain('reset your Atrium password');
    expect(texts[3]).toContain('accept the invitation');
  });

  it('should carry no link or number besides the app url, the code and the lifetime', () => {
    const { subject, text } = otpMail('invite', '123456', 10, APP_URL);
    const withoutKnown = `${subject}\n${text}`.replaceAll(APP_URL, '').replaceAll('123456', '').replaceAll('10', '');
    expect(withoutKnown).not.toMatch(/\d|https?:/);
  });

  it('should say "1 minute" when the code lives one minute', () => {
    const { subject, text } = otpMail('login', '123456', 1, APP_URL);
    expect(subject).toContain('expires in 1 minute)');
    expect(text).toContain('expires in 1 minute ');
  });

  it('should return only a subject and a text so the caller adds the recipient', () => {
    expect(Object.keys(otpMail('login', '123456', 10, APP_URL)).sort()).toEqual(['subject', 'text']);
  });

  it.each([0, -5, 2.5, Number.NaN])('should throw a RangeError when ttlMinutes is %p', (ttl) => {
    expect(() => otpMail('login', '123456', ttl, APP_URL)).toThrow(RangeError);
  });

  it.each(['', '12 34', '1234\nSubject: x', 'café'])('should throw a RangeError when the code is %j', (code) => {
    expect(() => otpMail('login', code, 10, APP_URL)).toThrow(RangeError);
  });
});
