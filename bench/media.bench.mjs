// Media benchmark (issue #9): upload throughput and the API process's peak RSS for 1 MB and 200 MB files,
// POSTed as multipart to /api/v1/media (streamed through the API into MinIO/S3), versus a direct `minio`
// client putObject of the same bytes to the same S3 server (s3rver, a process of its own) in the same run.
// API and direct uploads alternate (A B A B …) so drift affects both alike; medians are reported.
// Targets: API ≥ 0.8× direct throughput; API peak RSS independent of the file size (largest vs smallest size
// differ by < 50 MB). A missed target is reported, not an error; any failed upload is (exit code 1).
// MB here is MiB (1,048,576 bytes), sizes and MB/s alike.
//   npm run bench:media
//   BENCH_MEDIA_SIZES_MB=1,50 BENCH_MEDIA_REPS=5,2 npm run bench:media      (a quick run)
//   BENCH_MEDIA_CPU_PROF=var/prof npm run bench:media                          (API CPU profile, .cpuprofile)
//   BENCH_MEDIA_API_NODE_OPTIONS= npm run bench:media                          (the API's node options; default:
//                                                                              the flags of `npm run start:api`)
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { apiNodeFlags } from './harness.mjs';
import { ROOT, benchEnv, startServer, withDatabase, writeResult } from './lib.mjs';

const require = createRequire(import.meta.url);
const { Client } = require('minio');

const MiB = 1024 * 1024;
const SIZES_MB = (process.env.BENCH_MEDIA_SIZES_MB ?? '1,200').split(',').map(Number);
const REPS = (process.env.BENCH_MEDIA_REPS ?? '').split(',').filter(Boolean).map(Number);
const PART_MB = Number(process.env.BENCH_MEDIA_PART_MB ?? 8);
const TIMEOUT_S = Number(process.env.BENCH_MEDIA_TIMEOUT_S ?? 900);
const CPU_PROF_DIR = process.env.BENCH_MEDIA_CPU_PROF ? resolve(ROOT, process.env.BENCH_MEDIA_CPU_PROF) : undefined;
const SAMPLE_MS = 20;
const BUCKET = 'atrium-bench-media';
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';
const TARGET_RATIO = 0.8;
/** The API starts with the node flags of `npm run start:api`, as in production, unless BENCH_MEDIA_API_NODE_OPTIONS is set. */
const API_NODE_OPTIONS = process.env.BENCH_MEDIA_API_NODE_OPTIONS ?? apiNodeFlags().join(' ');
const TARGET_RSS_DIFF_MB = 50;

if (SIZES_MB.some((size) => !Number.isInteger(size) || size < 1)) {
  throw new Error(`BENCH_MEDIA_SIZES_MB must list whole MB ≥ 1, got ${process.env.BENCH_MEDIA_SIZES_MB}`);
}
/** Repetitions of a size: BENCH_MEDIA_REPS (one per size, same order), else 20 for small files and 3 for large. */
const repsOf = (index) => REPS[index] ?? (SIZES_MB[index] <= 16 ? 20 : 3);

// ---- the file: an MP4 (ftyp isom box, then one mdat box) generated chunk by chunk, never whole ----

const FTYP = Buffer.concat([Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom\0\0\x02\0isomiso2', 'latin1')]);
/** The payload, reused for every chunk of every file (its bytes never change, so sharing it is safe). */
const PAYLOAD = Buffer.alloc(MiB, 0x5a);

/** The `total` bytes of an MP4: the boxes' headers, then slices of PAYLOAD. */
function* mp4Chunks(total) {
  const header = Buffer.alloc(FTYP.length + 8);
  FTYP.copy(header);
  header.writeUInt32BE(total - FTYP.length, FTYP.length);
  header.write('mdat', FTYP.length + 4, 'latin1');
  yield header;
  for (let sent = header.length; sent < total;) {
    const piece = PAYLOAD.subarray(0, Math.min(PAYLOAD.length, total - sent));
    sent += piece.length;
    yield piece;
  }
}

// ---- memory of the API process, from /proc (kB → MB) ----

function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]) / 1024;
  return { rssMb: field('VmRSS'), hwmMb: field('VmHWM') };
}

/** CPU time (user + system, s) a process used so far; /proc/<pid>/stat counts in clock ticks of 1/100 s. */
function cpuOf(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds the API, the S3 server and this bench process spent in fn(), with fn's value. */
async function cpuDuring(apiPid, s3Pid, fn) {
  const api = cpuOf(apiPid);
  const s3 = cpuOf(s3Pid);
  const bench = process.cpuUsage();
  const value = await fn();
  const used = process.cpuUsage(bench);
  const cpu = { api: cpuOf(apiPid) - api, s3: cpuOf(s3Pid) - s3, bench: (used.user + used.system) / 1e6 };
  return { value, cpu };
}

/** Samples VmRSS every SAMPLE_MS until the returned stop(), which gives the peak seen. */
function sampleRss(pid) {
  let peak = memoryOf(pid).rssMb;
  const timer = setInterval(() => (peak = Math.max(peak, memoryOf(pid).rssMb)), SAMPLE_MS);
  return () => {
    clearInterval(timer);
    return Math.max(peak, memoryOf(pid).rssMb);
  };
}

// ---- the two ways up ----

/** POSTs the generated MP4 as multipart to /api/v1/media, writing with backpressure; resolves with the media. */
function uploadViaApi(baseUrl, token, total, timeoutMs) {
  const boundary = '----atrium-media-bench';
  const head = Buffer.from(
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.mp4"\r\n` +
      'Content-Type: video/mp4\r\n\r\n',
  );
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolvePromise, reject) => {
    const req = request(
      {
        host: hostname,
        port,
        method: 'POST',
        path: '/api/v1/media',
        timeout: timeoutMs,
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'content-length': head.length + total + tail.length,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (data) => (body += data));
        res.on('error', reject);
        res.on('end', () => {
          if (res.statusCode !== 201) return reject(new Error(`POST /api/v1/media: ${res.statusCode} ${body}`));
          const media = JSON.parse(body);
          if (media.size !== total || media.type !== 'mp4') {
            return reject(new Error(`POST /api/v1/media stored ${media.size} bytes of ${media.type}, sent ${total}`));
          }
          resolvePromise(media);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`POST /api/v1/media: no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    const chunks = mp4Chunks(total);
    req.write(head);
    const pump = () => {
      for (let next = chunks.next(); !next.done; next = chunks.next()) {
        if (!req.write(next.value)) return void req.once('drain', pump);
      }
      req.end(tail);
    };
    pump();
  });
}

/** The baseline: the minio client's own streaming putObject (size unknown, as the API's body is). */
async function uploadDirect(client, key, total, timeoutMs) {
  const body = Readable.from(mp4Chunks(total), { objectMode: false });
  let timer;
  try {
    await Promise.race([
      client.putObject(BUCKET, key, body, undefined, { 'Content-Type': 'video/mp4' }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`direct putObject: not done within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    body.destroy();
  }
}

// ---- helpers ----

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};
const round = (value, digits = 1) => Number(value.toFixed(digits));

/** SIGTERM, then SIGKILL after 10 s; resolves once the process is gone (an s3rver removes its directory). */
function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolvePromise) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolvePromise();
    });
    child.kill('SIGTERM');
  });
}

/** A start bounded in time; a process that becomes ready too late is stopped then. */
async function startBounded(entry, env, seconds) {
  const starting = startServer(entry, env);
  let timer;
  try {
    return await Promise.race([
      starting,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${entry}: not READY within ${seconds} s`)), seconds * 1000);
      }),
    ]);
  } catch (error) {
    starting.then(({ child }) => stop(child)).catch(() => undefined);
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A preload that profiles the API process with the inspector and writes <dir>/api-<pid>.cpuprofile on SIGTERM
 * (node 20 refuses --cpu-prof in NODE_OPTIONS, and the bench API has no shutdown hook that would exit cleanly).
 */
function cpuProfilePreload(dir) {
  mkdirSync(dir, { recursive: true });
  const file = join(mkdtempSync(join(tmpdir(), 'atrium-bench-prof-')), 'preload.cjs');
  writeFileSync(
    file,
    `const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');
const session = new Session();
session.connect();
session.post('Profiler.enable', () => session.post('Profiler.start'));
process.once('SIGTERM', () =>
  session.post('Profiler.stop', (error, result) => {
    if (!error) writeFileSync(${JSON.stringify(dir)} + '/api-' + process.pid + '.cpuprofile', JSON.stringify(result.profile));
    process.exit(0);
  }),
);
`,
  );
  return file;
}

// ---- the run ----

const children = [];
let deadlineHit = false;
const deadline = setTimeout(() => {
  deadlineHit = true;
  console.error(`bench:media: over BENCH_MEDIA_TIMEOUT_S=${TIMEOUT_S} s, stopping`);
  for (const child of children) child.kill('SIGKILL'); // in-flight uploads fail, the finally blocks clean up
  setTimeout(() => process.exit(1), 30_000).unref();
}, TIMEOUT_S * 1000);
deadline.unref();

try {
  await withDatabase('atrium_bench_media', async (databaseUrl) => {
    let preload;
    try {
      const s3 = await startBounded('bench/fixtures/s3rver.main.mjs', { S3RVER_BUCKET: BUCKET }, 60);
      children.push(s3.child);
      const s3Port = Number(new URL(s3.url).port);
      const s3Pid = s3.child.pid;
      if (CPU_PROF_DIR) preload = cpuProfilePreload(CPU_PROF_DIR);
      const api = await startBounded(
        'bench/fixtures/bench-api.main.ts',
        benchEnv(databaseUrl, {
          STORAGE_DRIVER: 'minio',
          MINIO_ENDPOINT: '127.0.0.1',
          MINIO_PORT: String(s3Port),
          MINIO_USE_SSL: 'false',
          MINIO_ACCESS_KEY: ACCESS_KEY,
          MINIO_SECRET_KEY: SECRET_KEY,
          MINIO_BUCKET: BUCKET,
          MINIO_PART_SIZE_MB: String(PART_MB),
          MEDIA_MAX_BYTES_MP4: String(512 * MiB),
          HTTP_TIMEOUT_MS: '600000',
          BCRYPT_COST: '4',
          NODE_OPTIONS: [API_NODE_OPTIONS, preload && `--require ${preload}`].filter(Boolean).join(' '),
        }),
        120,
      );
      children.push(api.child);
      const apiPid = api.child.pid;

      const registered = await fetch(`${api.url}/api/v1/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          organizationName: 'Bench Media',
          name: 'Bench',
          email: 'bench-media@atrium.test',
          password: 'plausible-Horse-battery-42',
        }),
      });
      if (registered.status !== 201) throw new Error(`register: ${registered.status} ${await registered.text()}`);
      const { accessToken: token } = await registered.json();

      // Same server, same part size, same region (no location lookup) as the API's client.
      const direct = new Client({
        endPoint: '127.0.0.1',
        port: s3Port,
        useSSL: false,
        accessKey: ACCESS_KEY,
        secretKey: SECRET_KEY,
        region: 'us-east-1',
        partSize: PART_MB * MiB,
        pathStyle: true,
      });
      // A streamed putObject first lists the bucket's incomplete uploads to resume one (GET ?uploads), which
      // s3rver does not implement; every key here is new, so "none to resume" is what S3 would answer.
      direct.findUploadId = async () => undefined;

      const removeMedia = async (id) => {
        const res = await fetch(`${api.url}/api/v1/media/${id}`, {
          method: 'DELETE',
          headers: { authorization: `Bearer ${token}` },
        });
        if (res.status !== 204) throw new Error(`DELETE /api/v1/media/${id}: ${res.status} ${await res.text()}`);
      };
      let keys = 0;
      const runApi = async (total, timeoutMs) => {
        const before = memoryOf(apiPid).rssMb;
        const stopSampling = sampleRss(apiPid);
        const start = performance.now();
        let measured;
        let peak;
        try {
          measured = await cpuDuring(apiPid, s3Pid, () => uploadViaApi(api.url, token, total, timeoutMs));
        } finally {
          peak = stopSampling();
        }
        const seconds = (performance.now() - start) / 1000;
        await removeMedia(measured.value.id); // keeps the S3 directory small; outside the measurement
        return { seconds, cpu: measured.cpu, rssBeforeMb: before, rssPeakMb: peak, hwmMb: memoryOf(apiPid).hwmMb };
      };
      const runDirect = async (total, timeoutMs) => {
        const key = `bench/direct-${++keys}.mp4`;
        const start = performance.now();
        const { cpu } = await cpuDuring(apiPid, s3Pid, () => uploadDirect(direct, key, total, timeoutMs));
        const seconds = (performance.now() - start) / 1000;
        const stat = await direct.statObject(BUCKET, key);
        if (stat.size !== total) throw new Error(`direct upload stored ${stat.size} bytes, sent ${total}`);
        await direct.removeObject(BUCKET, key);
        return { seconds, cpu };
      };

      // Warm-up (not measured): loads the code paths of both ways once, as the first real upload would.
      await runApi(MiB, 60_000);
      await runDirect(MiB, 60_000);

      const sizes = [];
      for (const [index, sizeMb] of SIZES_MB.entries()) {
        const total = sizeMb * MiB;
        const reps = repsOf(index);
        const timeoutMs = Math.max(60_000, sizeMb * 3000);
        const apiRuns = [];
        const directRuns = [];
        for (let rep = 0; rep < reps; rep++) {
          apiRuns.push(await runApi(total, timeoutMs));
          directRuns.push(await runDirect(total, timeoutMs));
        }
        const apiMbPerSec = median(apiRuns.map((run) => sizeMb / run.seconds));
        const directMbPerSec = median(directRuns.map((run) => sizeMb / run.seconds));
        // Median CPU seconds per upload of each process: where the time goes on a shared machine.
        const cpuOfRuns = (runs) =>
          Object.fromEntries(
            ['api', 's3', 'bench'].map((name) => [name, round(median(runs.map((run) => run.cpu[name])), 2)]),
          );
        const ratio = apiMbPerSec / directMbPerSec;
        const row = {
          sizeMb,
          reps,
          apiMbPerSec: round(apiMbPerSec),
          directMbPerSec: round(directMbPerSec),
          ratio: round(ratio, 3),
          pass: ratio >= TARGET_RATIO,
          apiSeconds: apiRuns.map((run) => round(run.seconds, 3)),
          directSeconds: directRuns.map((run) => round(run.seconds, 3)),
          apiPeakRssMb: round(Math.max(...apiRuns.map((run) => run.rssPeakMb))),
          apiRssBeforeMb: round(median(apiRuns.map((run) => run.rssBeforeMb))),
          apiRssGrowthMb: round(Math.max(...apiRuns.map((run) => run.rssPeakMb - run.rssBeforeMb))),
          apiVmHwmMb: round(apiRuns[apiRuns.length - 1].hwmMb),
          cpuSecondsPerUpload: { viaApi: cpuOfRuns(apiRuns), direct: cpuOfRuns(directRuns) },
        };
        sizes.push(row);
        console.log(
          `${sizeMb} MB × ${reps}: api ${row.apiMbPerSec} MB/s, direct ${row.directMbPerSec} MB/s (×${row.ratio}); ` +
            `API peak RSS ${row.apiPeakRssMb} MB (+${row.apiRssGrowthMb} MB over its RSS before), VmHWM ${row.apiVmHwmMb} MB`,
        );
        const { viaApi, direct: directCpu } = row.cpuSecondsPerUpload;
        console.log(
          `  CPU s per upload: via API: api ${viaApi.api}, s3 ${viaApi.s3}, bench ${viaApi.bench}; ` +
            `direct: s3 ${directCpu.s3}, bench ${directCpu.bench}`,
        );
      }

      console.log('');
      console.table(
        sizes.map((row) => ({
          'size MB': row.sizeMb,
          'api MB/s': row.apiMbPerSec,
          'direct MB/s': row.directMbPerSec,
          'api/direct': row.ratio,
          'API peak RSS MB': row.apiPeakRssMb,
          'RSS growth MB': row.apiRssGrowthMb,
        })),
      );
      const smallest = sizes.reduce((a, b) => (b.sizeMb < a.sizeMb ? b : a));
      const largest = sizes.reduce((a, b) => (b.sizeMb > a.sizeMb ? b : a));
      const rssDiffMb = round(largest.apiPeakRssMb - smallest.apiPeakRssMb);
      const checks = {
        rssIndependentOfSize: {
          sizesMb: [smallest.sizeMb, largest.sizeMb],
          diffMb: rssDiffMb,
          targetMb: TARGET_RSS_DIFF_MB,
          pass: sizes.length > 1 ? Math.abs(rssDiffMb) < TARGET_RSS_DIFF_MB : null,
        },
        throughputRatio: Object.fromEntries(
          sizes.map((row) => [`${row.sizeMb}MB`, { ratio: row.ratio, target: TARGET_RATIO, pass: row.pass }]),
        ),
      };
      const verdict = (pass) => (pass === null ? 'N/A (one size)' : pass ? 'PASS' : 'FAIL');
      console.log(
        `${verdict(checks.rssIndependentOfSize.pass)} peak RSS ${largest.sizeMb} MB vs ${smallest.sizeMb} MB ` +
          `differ by ${rssDiffMb} MB (target < ${TARGET_RSS_DIFF_MB})`,
      );
      for (const row of sizes) {
        console.log(
          `${verdict(row.pass)} ${row.sizeMb} MB: api/direct throughput ${row.ratio} (target ≥ ${TARGET_RATIO})`,
        );
      }

      const result = {
        partSizeMb: PART_MB,
        apiNodeOptions: API_NODE_OPTIONS,
        sampleMs: SAMPLE_MS,
        storage: 's3rver (own process) on 127.0.0.1',
        baseline: 'minio Client.putObject of a stream of unknown size, same part size, in the bench process',
        sizes,
        checks,
      };
      console.log(`wrote ${writeResult('media', result)}`);
    } finally {
      await Promise.all(children.map(stop));
      if (preload) rmSync(join(preload, '..'), { recursive: true, force: true });
      if (CPU_PROF_DIR) console.log(`API CPU profile in ${CPU_PROF_DIR}`);
    }
  });
} catch (error) {
  if (deadlineHit) console.error('(after the time limit)');
  console.error(error);
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
}
