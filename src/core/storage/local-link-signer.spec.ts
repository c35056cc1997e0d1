import { LocalLinkSigner, type LocalGetClaims, type LocalPutClaims } from './local-link-signer';
import { StorageException, StorageExceptionCode } from './storage.exception';

const SECRET = 'unit-test-signing-secret';
const NOW_MS = Date.UTC(2026, 0, 1, 12);
const NOW_S = NOW_MS / 1000;

const GET: LocalGetClaims = {
  op: 'get',
  key: 'org/1/2026/01/abc',
  exp: NOW_S + 60,
  contentType: 'image/png',
  contentDisposition: 'inline; filename="a.png"',
};
const PUT: LocalPutClaims = { op: 'put', key: 'org/1/2026/01/abc', exp: NOW_S + 60, minBytes: 1, maxBytes: 1024 };

function rejection(action: () => unknown): StorageException {
  try {
    action();
  } catch (error) {
    if (error instanceof StorageException) return error;
    throw error;
  }
  throw new Error('expected a StorageException');
}

describe(LocalLinkSigner.name, () => {
  const signer = new LocalLinkSigner(SECRET, () => NOW_MS);

  it('should return the signed claims when the token is genuine, live and for the operation', () => {
    expect(signer.verify(signer.sign(GET), 'get')).toEqual(GET);
    expect(signer.verify(signer.sign(PUT), 'put')).toEqual(PUT);
  });

  it('should produce URL-safe tokens', () => {
    expect(signer.sign({ ...GET, contentDisposition: "attachment; filename*=UTF-8''%C3%A9t%C3%A9.pdf" })).toMatch(
      /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/,
    );
  });

  it('should refuse with 403 bad-signature when the claims were changed', () => {
    const [, signature] = signer.sign(PUT).split('.');
    const forged = `${Buffer.from(JSON.stringify({ ...PUT, maxBytes: 10 ** 12 })).toString('base64url')}.${signature}`;
    const error = rejection(() => signer.verify(forged, 'put'));
    expect(error).toMatchObject({
      code: StorageExceptionCode.LinkInvalid,
      status: 403,
      extensions: { reason: 'bad-signature' },
    });
  });

  it('should refuse with 403 bad-signature when the signature was changed or made with another secret', () => {
    const token = signer.sign(GET);
    const flipped = token.slice(0, -1) + (token.endsWith('A') ? 'B' : 'A');
    const other = new LocalLinkSigner('another-secret-of-someone', () => NOW_MS).sign(GET);
    for (const forged of [flipped, other]) {
      expect(rejection(() => signer.verify(forged, 'get')).extensions).toEqual({ reason: 'bad-signature' });
    }
  });

  it('should refuse with 403 expired when the expiry second has come', () => {
    const token = signer.sign({ ...GET, exp: NOW_S });
    expect(rejection(() => signer.verify(token, 'get'))).toMatchObject({
      status: 403,
      message: 'The link has expired.',
      extensions: { reason: 'expired' },
    });
    expect(new LocalLinkSigner(SECRET, () => NOW_MS - 1000).verify(token, 'get')).toEqual({ ...GET, exp: NOW_S });
  });

  it('should refuse with 403 wrong-operation when a download link is used to upload and back', () => {
    expect(rejection(() => signer.verify(signer.sign(GET), 'put')).extensions).toEqual({ reason: 'wrong-operation' });
    expect(rejection(() => signer.verify(signer.sign(PUT), 'get')).extensions).toEqual({ reason: 'wrong-operation' });
  });

  it('should refuse with 400 malformed when the token does not have the shape of one', () => {
    const token = signer.sign(GET);
    for (const malformed of [
      '',
      'unknown',
      `${token}.x`,
      `${token}=`,
      token.replace('.', '.+'),
      `a b.${'x'.repeat(43)}`,
    ]) {
      expect({ malformed, ...rejection(() => signer.verify(malformed, 'get')) }).toMatchObject({
        malformed,
        code: StorageExceptionCode.LinkMalformed,
        status: 400,
      });
    }
  });
});
