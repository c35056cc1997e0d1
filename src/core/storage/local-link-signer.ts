import { createHmac, timingSafeEqual } from 'node:crypto';
import { StorageException, StorageExceptionCode } from './storage.exception';

/** What a download link allows: read `key` until `exp`, served with these headers. */
export interface LocalGetClaims {
  op: 'get';
  key: string;
  /** Unix seconds; the link is refused from this second on. */
  exp: number;
  contentType: string;
  contentDisposition: string;
}

/** What an upload link allows: write `key` once, with a body of minBytes..maxBytes, until `exp`. */
export interface LocalPutClaims {
  op: 'put';
  key: string;
  exp: number;
  minBytes: number;
  maxBytes: number;
}

export type LocalLinkClaims = LocalGetClaims | LocalPutClaims;
export type LocalLinkOp = LocalLinkClaims['op'];
type ClaimsOf<Op extends LocalLinkOp> = Extract<LocalLinkClaims, { op: Op }>;

const BASE64URL = /^[A-Za-z0-9_-]+$/;
// HMAC-SHA256 is 32 bytes: 43 base64url characters without padding.
const SIGNATURE_LENGTH = 43;

/**
 * The local driver's stand-in for S3 presigning: `<claims>.<signature>`, both base64url, the signature an
 * HMAC-SHA256 of the claims segment under STORAGE_SIGNING_SECRET. The token is the only credential of the
 * link routes, so everything the route does (key, operation, headers, size range, expiry) is in the claims.
 */
export class LocalLinkSigner {
  constructor(
    private readonly secret: string,
    private readonly nowMs: () => number = Date.now,
  ) {}

  sign(claims: LocalLinkClaims): string {
    const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${payload}.${this.signature(payload)}`;
  }

  /** The claims of a genuine, unexpired token made for `op`; otherwise a StorageException (400 or 403). */
  verify<Op extends LocalLinkOp>(token: string, op: Op): ClaimsOf<Op> {
    const [payload, signature, ...rest] = token.split('.');
    if (rest.length || !payload || !signature || !BASE64URL.test(payload) || signature.length !== SIGNATURE_LENGTH) {
      throw new StorageException(StorageExceptionCode.LinkMalformed, 'The link is malformed.');
    }
    // Compared as canonical base64url text of equal length: constant time, and no second encoding of the
    // same bytes is accepted.
    if (!timingSafeEqual(Buffer.from(signature), Buffer.from(this.signature(payload)))) {
      throw StorageException.linkInvalid('bad-signature', 'The link is not valid.');
    }
    const claims = parseClaims(payload);
    if (claims.op !== op) {
      throw StorageException.linkInvalid('wrong-operation', `The link is not valid for ${describe(op)}.`);
    }
    if (Math.floor(this.nowMs() / 1000) >= claims.exp) {
      throw StorageException.linkInvalid('expired', 'The link has expired.');
    }
    return claims as ClaimsOf<Op>;
  }

  private signature(payload: string): string {
    return createHmac('sha256', this.secret).update(payload).digest('base64url');
  }
}

function describe(op: LocalLinkOp): string {
  return op === 'get' ? 'downloads' : 'uploads';
}

type RawClaims = Partial<Record<keyof LocalGetClaims | keyof LocalPutClaims, unknown>>;

/** Only reached with a valid signature, so a bad shape means a bug of ours, not an attack: still refused. */
function parseClaims(payload: string): LocalLinkClaims {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    value = null;
  }
  const claims = (typeof value === 'object' ? value : null) as RawClaims | null;
  const valid =
    claims !== null &&
    typeof claims.key === 'string' &&
    Number.isInteger(claims.exp) &&
    ((claims.op === 'get' && typeof claims.contentType === 'string' && typeof claims.contentDisposition === 'string') ||
      (claims.op === 'put' && Number.isInteger(claims.minBytes) && Number.isInteger(claims.maxBytes)));
  if (!valid) throw new StorageException(StorageExceptionCode.LinkMalformed, 'The link is malformed.');
  return claims as LocalLinkClaims;
}
