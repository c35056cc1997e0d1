import { Injectable } from '@nestjs/common';
import { ValidationException } from '../exceptions/app.exception';
import { COMMON_PASSWORDS } from './data/common-passwords';

export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/** What the policy may compare a new password with; all optional because not every flow knows them. */
export interface PasswordContext {
  email?: string;
  name?: string;
}

// Built once per process; lookups are lower-case, and so is the list.
const COMMON = new Set(COMMON_PASSWORDS);

function canonical(value: string): string {
  return value.normalize('NFC').toLowerCase();
}

/**
 * The rules a new password must meet (NIST SP 800-63B style): a length range and a blocklist of known
 * passwords, no composition rules. Checked when a password is set, never at login.
 */
@Injectable()
export class PasswordPolicy {
  /** Throws ValidationException naming `password` and the rule it broke. */
  check(password: string, context: PasswordContext = {}): void {
    const problem = this.problemWith(password, context);
    if (problem) throw new ValidationException([{ field: 'password', message: problem }]);
  }

  private problemWith(password: string, context: PasswordContext): string | undefined {
    const normalized = password.normalize('NFC');
    // Length in Unicode code points after NFC, not UTF-16 units: "é" is one character however it was typed,
    // and an emoji counts once, not twice.
    const length = [...normalized].length;
    if (length < PASSWORD_MIN_LENGTH) return `password must be at least ${PASSWORD_MIN_LENGTH} characters long`;
    if (length > PASSWORD_MAX_LENGTH) return `password must be at most ${PASSWORD_MAX_LENGTH} characters long`;

    const lower = canonical(normalized);
    if (COMMON.has(lower)) return 'password is too common: it appears in lists of leaked passwords';
    if (context.email) {
      const email = canonical(context.email.trim());
      const localPart = email.split('@')[0];
      if (lower === email || lower === localPart) return 'password must not be your email address';
    }
    if (context.name && lower === canonical(context.name.trim())) return 'password must not be your name';
    return undefined;
  }
}
