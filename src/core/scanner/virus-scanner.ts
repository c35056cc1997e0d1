import type { Readable } from 'node:stream';

/**
 * What a scan concluded. Only `clean` lets a file through: `infected` carries the signature name the scanner
 * reported, `error` means no verdict was reached (the caller treats it as not clean and may retry).
 */
export type ScanVerdict =
  { status: 'clean' } | { status: 'infected'; signature: string } | { status: 'error'; reason: string };

/**
 * Injection token for the configured scanner: a `VirusScanner`, or `null` when scanning is off
 * (`AppConfig.scanner` is null), so consumers decide explicitly what "off" means for them:
 * `constructor(@Inject(VIRUS_SCANNER) private readonly scanner: VirusScanner | null)`.
 */
export const VIRUS_SCANNER = Symbol('VIRUS_SCANNER');

/**
 * The virus scanning port. Fail closed: only the scanner's explicit "no virus" answer (clamd's exact
 * `stream: OK`) is `clean`.
 * - a signature match (`stream: <name> FOUND`) is `infected`;
 * - everything else is `error`: a size limit hit (ours or the scanner's `INSTREAM size limit exceeded`), any
 *   `... ERROR` reply, connection refused or reset, a timeout, a reply that cannot be parsed.
 *
 * `scan()` consumes the stream: it is read to its end, or destroyed when the scan stops early. Problems on
 * the scanner side never throw, they resolve as `error`; an error of the source stream itself (e.g. the
 * storage read failed) rejects with that error, since the file, not the scanner, is what failed.
 */
export abstract class VirusScanner {
  abstract scan(stream: Readable): Promise<ScanVerdict>;

  /** Whether the scanner answers; never throws. For health checks. */
  abstract ping(): Promise<boolean>;
}
