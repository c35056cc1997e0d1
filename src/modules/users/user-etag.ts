import type { User } from './user.entity';
import { UserException, UserExceptionCode } from './user.exception';

/** The ETag of a user: its version, quoted (a strong validator: any change increments it). */
export function userEtag(user: Pick<User, 'version'>): string {
  return `"${user.version}"`;
}

/**
 * The version an If-Match header asks for: undefined when absent or `*` (no precondition). Anything that is
 * not one of our ETags can never match, so it is a 412 like a stale one.
 */
export function versionFromIfMatch(header: string | undefined): number | undefined {
  if (header === undefined || header.trim() === '*') return undefined;
  const match = /^\s*(?:W\/)?"(\d{1,9})"\s*$/.exec(header);
  if (!match)
    throw new UserException(UserExceptionCode.VersionMismatch, 'If-Match does not name a version of this user.');
  return Number(match[1]);
}
