/** One mail as the application hands it over: plain text always, HTML optional. */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html?: string;
}

/** What a template produces; the caller adds the recipient: `{ to, ...otpMail(...) }`. */
export type MailContent = Omit<MailMessage, 'to'>;

export type OtpPurpose = 'login' | 'verify_email' | 'reset_password' | 'invite';

interface OtpWording {
  /** What the code is for, as a subject line. */
  subject: string;
  /** The sentence before the code. */
  intro: string;
  /** What to do when the mail was not expected. */
  unexpected: string;
}

// The wording is fixed per purpose: nothing a user typed (names, organization names) goes into these mails,
// so they cannot be turned into phishing, and the code is the only secret in them.
const OTP_WORDING: Record<OtpPurpose, OtpWording> = {
  login: {
    subject: 'Your Atrium sign-in code',
    intro: 'Use this code to finish signing in to Atrium:',
    unexpected: 'If you did not just try to sign in, someone may know your password: change it.',
  },
  verify_email: {
    subject: 'Your Atrium email verification code',
    intro: 'Use this code to verify your email address in Atrium:',
    unexpected: 'If you did not add this address to an Atrium account, ignore this mail.',
  },
  reset_password: {
    subject: 'Your Atrium password reset code',
    intro: 'Use this code to reset your Atrium password:',
    unexpected: 'If you did not ask to reset your password, ignore this mail: your password stays unchanged.',
  },
  invite: {
    subject: 'Your Atrium invitation code',
    intro: 'You have been invited to Atrium. Use this code to accept the invitation and choose your password:',
    unexpected: 'If you did not expect an invitation, ignore this mail.',
  },
};

function minutes(n: number): string {
  return n === 1 ? '1 minute' : `${n} minutes`;
}

/**
 * The mail carrying a one-time code. The code is in the text only, never in the subject: subjects show up
 * in notifications, mail logs and our own log line for every mail.
 */
export function otpMail(purpose: OtpPurpose, code: string, ttlMinutes: number, appUrl: string): MailContent {
  if (!/^[\x21-\x7e]+$/.test(code)) throw new RangeError('otpMail: code must be printable ASCII without spaces');
  if (!Number.isInteger(ttlMinutes) || ttlMinutes < 1) {
    throw new RangeError(`otpMail: ttlMinutes must be a positive integer (got ${ttlMinutes})`);
  }
  const wording = OTP_WORDING[purpose];
  const expiry = minutes(ttlMinutes);
  const text = [
    wording.intro,
    '',
    `    ${code}`,
    '',
    `The code expires in ${expiry} and works only once. Never share it: Atrium staff will never ask you for it.`,
    '',
    wording.unexpected,
    '',
    '--',
    `Atrium - ${appUrl}`,
  ].join('\n');
  return { subject: `${wording.subject} (expires in ${expiry})`, text };
}
