import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { TEST_PASSWORD, uniqueEmail } from '../helpers/auth';
import { spawnTs, type SpawnedProcess } from '../helpers/spawn-process';

const MiB = 1024 * 1024;
/** Larger than the API process's whole V8 heap (HEAP_MB): a buffering upload could not even hold it. */
const FILE_MB = 200;
const HEAP_MB = 128;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Peak and current resident memory of a process, from /proc (kB → MiB). */
async function memoryOf(pid: number): Promise<{ peakMb: number; rssMb: number }> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const field = (name: string) =>
    Number(/(\d+) kB/.exec(status.split('\n').find((l) => l.startsWith(name)) ?? '')?.[1]) / 1024;
  return { peakMb: field('VmHWM:'), rssMb: field('VmRSS:') };
}

/** POSTs a generated MP4 of `megabytes` as multipart, written chunk by chunk (never whole in this process either). */
function uploadGenerated(port: number, token: string, megabytes: number): Promise<{ status: number; body: string }> {
  const boundary = '----atrium-memory-test';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.mp4"\r\nContent-Type: video/mp4\r\n\r\n`,
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const ftyp = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom\0\0\x02\0isomiso2', 'latin1')]);
  const total = megabytes * MiB;
  const mdat = Buffer.alloc(8);
  mdat.writeUInt32BE(total - ftyp.length, 0);
  mdat.write('mdat', 4);
  const chunk = Buffer.alloc(MiB, 0x5a);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/media',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + total + tail.length,
        },
      },
      (res) => {
        let body = '';
        res.on('data', (data: Buffer) => (body += data.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    let sent = 0;
    const pump = (): void => {
      if (sent === 0) {
        req.write(head);
        req.write(ftyp);
        req.write(mdat);
        sent = ftyp.length + mdat.length;
      }
      while (sent < total) {
        const piece = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

describe('Media uploads stream (a real API process)', () => {
  let api: SpawnedProcess;
  let port: number;
  let token: string;

  beforeAll(async () => {
    port = await freePort();
    api = spawnTs('src/main.ts', {
      PORT: String(port),
      HOST: '127.0.0.1',
      NODE_OPTIONS: `--max-old-space-size=${HEAP_MB}`,
      MEDIA_MAX_BYTES_MP4: String(512 * MiB),
      RATE_LIMIT_MAX: '100000',
    });
    await api.waitForOutput(/API listening on/, 60_000);
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        organizationName: 'Org memory',
        name: 'Memory',
        email: uniqueEmail('memory'),
        password: TEST_PASSWORD,
      }),
    });
    expect(res.status).toBe(201);
    token = ((await res.json()) as { accessToken: string }).accessToken;
  }, 90_000);

  afterAll(async () => {
    api?.child.kill('SIGKILL');
    await api?.exited;
  });

  it(`should take a ${FILE_MB} MB file with a ${HEAP_MB} MB heap, its peak memory independent of the file size`, async () => {
    // Warm-up: the first upload loads the code paths (multipart, storage) into memory once.
    const small = await uploadGenerated(port, token, 1);
    expect(small.status).toBe(201);
    const pid = api.child.pid ?? 0;
    const before = await memoryOf(pid);

    const big = await uploadGenerated(port, token, FILE_MB);
    expect(big.status).toBe(201);
    expect(JSON.parse(big.body)).toMatchObject({ type: 'mp4', size: FILE_MB * MiB });
    const after = await memoryOf(pid);
    // A file held whole would raise the peak by ~FILE_MB; streaming keeps it within a few parts.
    expect(after.peakMb - Math.max(before.peakMb, before.rssMb)).toBeLessThan(50);
  }, 180_000);
});
