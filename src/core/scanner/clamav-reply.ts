import type { ScanVerdict } from './virus-scanner';

/** The reason given whenever a stream is too large to be scanned, by our count or by clamd's. */
export const TOO_LARGE = 'file larger than the scanner accepts';

/** How clamd answers an INSTREAM beyond its StreamMaxLength (it then closes the connection). */
const SIZE_LIMIT_REPLY = 'INSTREAM size limit exceeded. ERROR';

/** Replies end up in logs and job failures: keep them short and on one line. */
const MAX_QUOTED_CHARS = 200;

/**
 * Maps clamd's reply to an INSTREAM (its NUL terminator removed) to a verdict. Fails closed: only the exact
 * `stream: OK` is clean. With `AlertExceedsMax yes` a file beyond clamd's scan limits comes back as
 * `stream: Heuristics.Limits.Exceeded.<limit> FOUND`, i.e. infected, which is the safe reading too.
 */
export function parseClamdReply(reply: string): ScanVerdict {
  if (reply === 'stream: OK') return { status: 'clean' };
  const found = /^stream: (\S.*) FOUND$/.exec(reply);
  if (found) return { status: 'infected', signature: found[1] };
  if (reply === SIZE_LIMIT_REPLY) return { status: 'error', reason: `${TOO_LARGE} (clamd: ${SIZE_LIMIT_REPLY})` };
  if (reply.endsWith(' ERROR')) return { status: 'error', reason: `clamd: ${quote(reply)}` };
  return { status: 'error', reason: `unexpected reply from clamd: ${quote(reply)}` };
}

/** JSON quoting makes control characters and an empty reply visible. */
export function quote(text: string): string {
  return JSON.stringify(text.length > MAX_QUOTED_CHARS ? `${text.slice(0, MAX_QUOTED_CHARS)}…` : text);
}
