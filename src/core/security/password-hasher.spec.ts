import bcrypt from 'bcrypt';
import { randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app.config';
import { BcryptProcess } from './bcrypt-process';
import { PasswordHasher } from './password-hasher';
import { SecurityException } from './security.exception';

const COST = 4;

const made: PasswordHasher[] = [];
function hasherWith(env: Record<string, string> = {}): PasswordHasher {
  const hasher = new PasswordHasher(AppConfig.fromEnv({ NODE_ENV: 'test', BCRYPT_COST: String(COST), ...env }));
  made.push(hasher);
  return hasher;
}

afterAll(async () => {
  await Promise.all(made.map((hasher) => hasher.onApplicationShutdown()));
});

// 30 × 'é' is 60 UTF-8 bytes; with the shared 12-byte middle the two passwords agree on their first 72 bytes.
const SHARED_PREFIX = 'é'.repeat(30) + 'correct-hors';
const FIRST = `${SHARED_PREFIX}e battery staple`;
const SECOND = `${SHARED_PREFIX}e TOTALLY different`;

describe(PasswordHasher.name, () => {
  const hasher = hasherWith();

  it('should verify the password when it is the one that was hashed', async () => {
    const hash = await hasher.hash('a perfectly fine passphrase');
    await expect(hasher.verify('a perfectly fine passphrase', hash)).resolves.toBe(true);
  });

  it('should reject the password when it differs from the hashed one', async () => {
    const hash = await hasher.hash('a perfectly fine passphrase');
    await expect(hasher.verify('a perfectly fine passphrasE', hash)).resolves.toBe(false);
    await expect(hasher.verify('', hash)).resolves.toBe(false);
  });

  it('should tell apart passwords that share their first 72 bytes when they differ after them', async () => {
    expect(Buffer.byteLength(SHARED_PREFIX)).toBe(72);
    expect(FIRST).not.toBe(SECOND);
    // Plain bcrypt truncates at 72 bytes, so it would take either password for the other...
    const plain = await bcrypt.hash(FIRST, COST);
    await expect(bcrypt.compare(SECOND, plain)).resolves.toBe(true);
    // ...the HMAC pre-hash makes every byte count.
    const hash = await hasher.hash(FIRST);
    await expect(hasher.verify(FIRST, hash)).resolves.toBe(true);
    await expect(hasher.verify(SECOND, hash)).resolves.toBe(false);
  });

  it('should reject the password when the hash was made with another pepper', async () => {
    const other = hasherWith({ PASSWORD_PEPPER: randomBytes(32).toString('base64') });
    const hash = await other.hash('a perfectly fine passphrase');
    await expect(other.verify('a perfectly fine passphrase', hash)).resolves.toBe(true);
    await expect(hasher.verify('a perfectly fine passphrase', hash)).resolves.toBe(false);
  });

  it('should not be a bcrypt of the bare password when hashing', async () => {
    const hash = await hasher.hash('a perfectly fine passphrase');
    await expect(bcrypt.compare('a perfectly fine passphrase', hash)).resolves.toBe(false);
  });

  it('should produce a bcrypt hash with the configured cost and a fresh salt when hashing', async () => {
    const first = await hasher.hash('a perfectly fine passphrase');
    const second = await hasher.hash('a perfectly fine passphrase');
    expect(first).toMatch(/^\$2b\$04\$[./A-Za-z0-9]{53}$/);
    expect(bcrypt.getRounds(first)).toBe(COST);
    expect(second).not.toBe(first);
    const costlier = hasherWith({ BCRYPT_COST: '5' });
    expect(bcrypt.getRounds(await costlier.hash('x'))).toBe(5);
  });

  it('should verify the same password when it was typed in another Unicode normal form', async () => {
    const composed = 'caf\u00e9 au lait, bien s\u00fbr';
    const decomposed = composed.normalize('NFD');
    expect(decomposed).not.toBe(composed);
    await expect(hasher.verify(decomposed, await hasher.hash(composed))).resolves.toBe(true);
  });

  it('should return false rather than throw when the stored hash is malformed', async () => {
    await expect(hasher.verify('a perfectly fine passphrase', 'not-a-bcrypt-hash')).resolves.toBe(false);
  });

  it('should run a full bcrypt comparison and return false when verifying against the dummy hash', async () => {
    const compare = jest.spyOn(BcryptProcess.prototype, 'compare');
    try {
      await expect(hasher.verifyDummy('whatever the attacker typed')).resolves.toBe(false);
      expect(compare).toHaveBeenCalledTimes(1);
      const [prehashed, dummyHash] = compare.mock.calls[0] as unknown[];
      // The same work as a real check: the 44-character pre-hash against a bcrypt hash of the configured cost.
      expect(prehashed).toHaveLength(44);
      expect(dummyHash).toMatch(/^\$2b\$04\$/);
    } finally {
      compare.mockRestore();
    }
  });

  it('should ask for a rehash when the hash has another cost or is not bcrypt', async () => {
    expect(hasher.needsRehash(await hasher.hash('x'))).toBe(false);
    expect(hasher.needsRehash(await bcrypt.hash('x', 5))).toBe(true);
    expect(hasher.needsRehash('not-a-bcrypt-hash')).toBe(true);
  });

  it('should run bcrypt in a process of its own at BCRYPT_NICENESS once the module starts', async () => {
    const started = hasherWith({ BCRYPT_CONCURRENCY: '3', BCRYPT_NICENESS: '11' });
    await started.onModuleInit();
    const info = started.processInfo;
    expect(info?.pid).toEqual(expect.any(Number));
    expect(info?.pid).not.toBe(process.pid);
    // The main thread, V8's helpers and a libuv pool of BCRYPT_CONCURRENCY threads, all at the niceness.
    expect(info?.threads.length).toBeGreaterThanOrEqual(1 + 3);
    expect(new Set(info?.threads.map((thread) => thread.niceness))).toEqual(new Set([11]));
    const compare = jest.spyOn(bcrypt, 'compare');
    try {
      await expect(
        started.verify('a perfectly fine passphrase', await started.hash('a perfectly fine passphrase')),
      ).resolves.toBe(true);
      // Not in this process.
      expect(compare).not.toHaveBeenCalled();
    } finally {
      compare.mockRestore();
    }
    await started.onApplicationShutdown();
    expect(started.processInfo).toBeUndefined();
    await expect(started.verify('x', 'y')).rejects.toThrow(/closed/);
  });

  describe('bounded bcrypt', () => {
    /** Holds every bcrypt.compare until release(), counting how many are in flight at once. */
    function holdCompares() {
      const original = BcryptProcess.prototype.compare;
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      const seen = { inFlight: 0, maxInFlight: 0, calls: 0 };
      const spy = jest.spyOn(BcryptProcess.prototype, 'compare').mockImplementation(async function (
        this: BcryptProcess,
        data: string,
        encrypted: string,
      ) {
        seen.calls++;
        seen.maxInFlight = Math.max(seen.maxInFlight, ++seen.inFlight);
        await released;
        try {
          return await original.call(this, data, encrypted);
        } finally {
          seen.inFlight--;
        }
      });
      return { seen, release, restore: () => spy.mockRestore() };
    }

    it('should run no more than BCRYPT_CONCURRENCY comparisons at once when many are asked for', async () => {
      const bounded = hasherWith({ BCRYPT_CONCURRENCY: '2', BCRYPT_QUEUE_MAX: '10' });
      const hash = await bounded.hash('a perfectly fine passphrase');
      await bounded.onModuleInit();
      const held = holdCompares();
      try {
        const checks = [
          ...Array.from({ length: 4 }, () => bounded.verify('a perfectly fine passphrase', hash)),
          bounded.verifyDummy('whatever'),
        ];
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(held.seen.calls).toBe(2);
        held.release();
        await expect(Promise.all(checks)).resolves.toEqual([true, true, true, true, false]);
        expect(held.seen.maxInFlight).toBe(2);
      } finally {
        held.restore();
      }
    });

    it('should refuse with a 503 problem and Retry-After when more than BCRYPT_QUEUE_MAX checks wait', async () => {
      const bounded = hasherWith({ BCRYPT_CONCURRENCY: '1', BCRYPT_QUEUE_MAX: '1' });
      const hash = await bounded.hash('a perfectly fine passphrase');
      const held = holdCompares();
      try {
        const admitted = [bounded.verify('x', hash), bounded.verify('y', hash)];
        const refused = bounded.verify('a perfectly fine passphrase', hash);
        await expect(refused).rejects.toBeInstanceOf(SecurityException);
        await expect(refused).rejects.toMatchObject({
          status: 503,
          code: 'password-check-busy',
          headers: { 'Retry-After': expect.stringMatching(/^[1-9]\d*$/) },
        });
        await expect(bounded.hash('z')).rejects.toMatchObject({ status: 503 });
        held.release();
        await expect(Promise.all(admitted)).resolves.toEqual([false, false]);
        expect(held.seen.calls).toBe(2);
      } finally {
        held.restore();
      }
    });
  });
});
