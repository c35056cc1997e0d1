import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { TOO_LARGE } from '../../src/core/scanner/clamav-reply';
import { ClamavScanner, type ClamavOptions } from '../../src/core/scanner/clamav.scanner';
import { CLAMD_MISSING, EICAR_SIGNATURE, eicar, findClamd, startClamd, type ClamdHandle } from '../helpers/clamd';

const MiB = 1024 * 1024;
const CLAMD_START_MS = 90_000;
const clamdInstalled = findClamd() !== null;
if (!clamdInstalled) console.warn(`Skipping the ClamAV tests against a real clamd: ${CLAMD_MISSING}`);
const describeWithClamd = clamdInstalled ? describe : describe.skip;

function scannerFor(
  { host, port, socket }: { host?: string; port: number; socket?: string },
  options: Partial<ClamavOptions> = {},
): ClamavScanner {
  return new ClamavScanner({ host, port, socket, timeoutMs: 30_000, streamMaxBytes: 64 * MiB, ...options });
}

/** Harmless bytes, generated on demand in chunks of `chunkBytes`; `produced` counts what was pulled. */
function cleanStream(totalBytes: number, chunkBytes = 100_000): Readable & { produced: () => number } {
  let produced = 0;
  const pattern = Buffer.from('Atrium clean test data, nothing to see here.\n');
  function* chunks(): Generator<Buffer> {
    while (produced < totalBytes) {
      const size = Math.min(chunkBytes, totalBytes - produced);
      produced += size;
      yield Buffer.alloc(size, pattern);
    }
  }
  return Object.assign(Readable.from(chunks(), { objectMode: false }), { produced: () => produced });
}

/** Yields `bytesBefore` bytes, then fails the way a broken storage download does. */
function failingStream(bytesBefore: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytesBefore) return this.destroy(new Error('storage read failed'));
      sent += 64 * 1024;
      this.push(Buffer.alloc(64 * 1024, 'a'));
    },
  });
}

function streamOf(...parts: (Buffer | Readable)[]): Readable {
  return Readable.from(
    (async function* () {
      for (const part of parts) {
        if (Buffer.isBuffer(part)) yield part;
        else for await (const chunk of part) yield chunk as Buffer;
      }
    })(),
    { objectMode: false },
  );
}

async function listen(onConnection: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer(onConnection);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

/** A port nothing listens on: taken from the OS, then released. */
async function closedPort(): Promise<number> {
  const { server, port } = await listen(() => undefined);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface FakeClamd {
  port: number;
  /** Every INSTREAM chunk length received, the zero-length terminator included. */
  chunkLengths: number[];
  received: () => Buffer;
  close(): Promise<void>;
}

/**
 * Speaks enough INSTREAM to check our framing: reads the command and the chunks, and once the zero-length
 * chunk arrives writes `reply` as is (terminator or not) and closes.
 */
async function startFakeClamd(reply: string): Promise<FakeClamd> {
  const chunkLengths: number[] = [];
  const payload: Buffer[] = [];
  const sockets = new Set<Socket>();
  const { server, port } = await listen((socket) => {
    sockets.add(socket);
    let pending = Buffer.alloc(0);
    let commandRead = false;
    socket.on('data', (data: Buffer) => {
      pending = Buffer.concat([pending, data]);
      if (!commandRead) {
        const end = pending.indexOf(0);
        if (end < 0) return;
        const command = pending.subarray(0, end).toString();
        pending = pending.subarray(end + 1);
        commandRead = true;
        if (command === 'zPING') return void socket.end(reply);
        if (command !== 'zINSTREAM') return void socket.end('UNKNOWN COMMAND\0');
      }
      while (pending.length >= 4) {
        const length = pending.readUInt32BE(0);
        if (pending.length < 4 + length) return;
        chunkLengths.push(length);
        payload.push(pending.subarray(4, 4 + length));
        pending = pending.subarray(4 + length);
        if (length === 0) socket.end(reply);
      }
    });
    socket.on('error', () => undefined);
  });
  return {
    port,
    chunkLengths,
    received: () => Buffer.concat(payload),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('ClamavScanner against misbehaving or fake servers', () => {
  it('should frame the stream as INSTREAM chunks of at most 64 KiB, skipping empty ones', async () => {
    const fake = await startFakeClamd('stream: OK\0');
    try {
      const input = Buffer.alloc(300_000, 'abc');
      const tail = Buffer.from('0123456789');
      const verdict = await scannerFor({ port: fake.port }).scan(streamOf(input, Buffer.alloc(0), tail));
      expect(verdict).toEqual({ status: 'clean' });
      expect(fake.chunkLengths.at(-1)).toBe(0);
      expect(fake.chunkLengths.slice(0, -1).every((length) => length > 0 && length <= 64 * 1024)).toBe(true);
      expect(fake.received().equals(Buffer.concat([input, tail]))).toBe(true);
    } finally {
      await fake.close();
    }
  });

  it.each([
    ['garbage', 'GARBAGE\0', /unexpected reply from clamd: "GARBAGE"/],
    ['"stream: OK" without its terminator', 'stream: OK', /closed the connection mid-reply/],
    ['an endless line', 'x'.repeat(10_000), /unexpected reply/],
    ['nothing', '', /closed the connection without a reply/],
  ])('should be an error when the server answers %s', async (_what, reply, reason) => {
    const fake = await startFakeClamd(reply);
    try {
      await expect(scannerFor({ port: fake.port }).scan(streamOf(Buffer.from('hello')))).resolves.toEqual({
        status: 'error',
        reason: expect.stringMatching(reason),
      });
      await expect(scannerFor({ port: fake.port }).ping()).resolves.toBe(false);
    } finally {
      await fake.close();
    }
  });

  it('should be an error, and ping false, when nothing listens', async () => {
    const scanner = scannerFor({ port: await closedPort() });
    await expect(scanner.scan(streamOf(Buffer.from('hello')))).resolves.toEqual({
      status: 'error',
      reason: expect.stringContaining('cannot reach clamd'),
    });
    await expect(scanner.ping()).resolves.toBe(false);
    await expect(
      scannerFor({ port: 3310, socket: '/nonexistent/clamd.sock' }).scan(streamOf(Buffer.from('hello'))),
    ).resolves.toMatchObject({ status: 'error', reason: expect.stringContaining('ENOENT') });
  });

  it('should time out, reading no further than the socket takes, when the server never reads or answers', async () => {
    const sockets: Socket[] = [];
    const { server, port } = await listen((socket) => {
      socket.pause();
      sockets.push(socket);
    });
    try {
      const source = cleanStream(1024 * MiB);
      const scanner = scannerFor({ port }, { timeoutMs: 500, streamMaxBytes: 2048 * MiB });
      const started = Date.now();
      await expect(scanner.scan(source)).resolves.toEqual({
        status: 'error',
        reason: 'scan timed out after 500 ms',
      });
      expect(Date.now() - started).toBeLessThan(3000);
      // Backpressure: what was pulled fits into socket buffers, far from the 1 GiB on offer.
      expect(source.produced()).toBeLessThan(64 * MiB);
      expect(source.destroyed).toBe(true);
      await expect(scanner.ping()).resolves.toBe(false);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('should reject with the source error when the stream to scan fails', async () => {
    const fake = await startFakeClamd('stream: OK\0');
    try {
      await expect(scannerFor({ port: fake.port }).scan(failingStream(100_000))).rejects.toThrow('storage read failed');
    } finally {
      await fake.close();
    }
  });
});

describeWithClamd(
  clamdInstalled ? 'ClamavScanner against a real clamd' : `ClamavScanner against a real clamd: ${CLAMD_MISSING}`,
  () => {
    let clamd: ClamdHandle;

    beforeAll(async () => {
      clamd = (await startClamd({ unixSocket: true })) as ClamdHandle;
    }, CLAMD_START_MS);

    afterAll(async () => {
      await clamd?.stop();
    });

    it('should find EICAR', async () => {
      const verdict = await scannerFor(clamd).scan(streamOf(eicar()));
      expect(verdict).toEqual({ status: 'infected', signature: expect.stringContaining(EICAR_SIGNATURE) });
    });

    it('should pass clean bytes, small and 5 MB', async () => {
      await expect(scannerFor(clamd).scan(streamOf(Buffer.from('hello, clamd')))).resolves.toEqual({
        status: 'clean',
      });
      await expect(scannerFor(clamd).scan(cleanStream(5 * MiB))).resolves.toEqual({ status: 'clean' });
    });

    it('should find EICAR after 1 MB of clean bytes', async () => {
      await expect(scannerFor(clamd).scan(streamOf(cleanStream(MiB), eicar()))).resolves.toEqual({
        status: 'infected',
        signature: expect.stringContaining(EICAR_SIGNATURE),
      });
    });

    it('should give each of several concurrent scans its own verdict', async () => {
      const scanner = scannerFor(clamd);
      const verdicts = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) => scanner.scan(i % 2 ? streamOf(cleanStream(MiB), eicar()) : cleanStream(MiB))),
      );
      expect(verdicts.map((verdict) => verdict.status)).toEqual([
        'clean',
        'infected',
        'clean',
        'infected',
        'clean',
        'infected',
      ]);
    });

    it('should stop at streamMaxBytes on our side, and scan a stream of exactly that size', async () => {
      const scanner = scannerFor(clamd, { streamMaxBytes: MiB });
      const tooLarge = cleanStream(2 * MiB);
      await expect(scanner.scan(tooLarge)).resolves.toEqual({ status: 'error', reason: TOO_LARGE });
      // Readable.from pulls one chunk ahead of what we read: 1 MiB plus at most two 100 kB chunks.
      expect(tooLarge.produced()).toBeLessThanOrEqual(MiB + 200_000);
      expect(tooLarge.destroyed).toBe(true);
      await expect(scanner.scan(cleanStream(MiB))).resolves.toEqual({ status: 'clean' });
    });

    it('should speak over the unix socket too', async () => {
      const scanner = scannerFor({ port: 1, socket: clamd.socketPath });
      await expect(scanner.scan(streamOf(Buffer.from('hello, clamd')))).resolves.toEqual({ status: 'clean' });
      await expect(scanner.scan(streamOf(eicar()))).resolves.toMatchObject({ status: 'infected' });
      await expect(scanner.ping()).resolves.toBe(true);
    });

    it('should answer ping', async () => {
      await expect(scannerFor(clamd).ping()).resolves.toBe(true);
    });

    it('should reject with the source error when the stream fails mid-scan', async () => {
      const failing = failingStream(MiB);
      await expect(scannerFor(clamd).scan(failing)).rejects.toThrow('storage read failed');
      await expect(scannerFor(clamd).ping()).resolves.toBe(true);
    });

    describe('with a StreamMaxLength below ours', () => {
      let small: ClamdHandle;

      beforeAll(async () => {
        small = (await startClamd({ streamMaxBytes: MiB })) as ClamdHandle;
      }, CLAMD_START_MS);

      afterAll(async () => {
        await small?.stop();
      });

      // clamd replies "INSTREAM size limit exceeded. ERROR" and closes; whether we read that before a write
      // fails with EPIPE is a race, so either reason is fine: what matters is error, never clean, no crash.
      it('should be an error, every time', async () => {
        const scanner = scannerFor(small, { streamMaxBytes: 64 * MiB });
        for (let i = 0; i < 5; i++) {
          await expect(scanner.scan(cleanStream(2 * MiB + i * MiB))).resolves.toEqual({
            status: 'error',
            reason: expect.stringMatching(/INSTREAM size limit exceeded|StreamMaxLength/),
          });
        }
        await expect(scanner.scan(cleanStream(MiB / 2))).resolves.toEqual({ status: 'clean' });
      });
    });
  },
);
