import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// Media upload through the API vs a direct minio client upload to the same S3 server, and the API's peak
// RSS for a small vs a large file: bench/media.bench.mjs, spawned (its own database, S3 server and API).
export async function mediaScenario(ctx) {
  const quick = ctx.mode === 'quick';
  const result = await ctx.spawnBench('media', 'bench/media.bench.mjs', {
    BENCH_MEDIA_SIZES_MB: '1,200',
    BENCH_MEDIA_REPS: quick ? '3,1' : '10,3',
    BENCH_MEDIA_TIMEOUT_S: quick ? '240' : '900',
  });
  const rows = result.sizes.map((size) =>
    ctx.row({
      id: `media-throughput-${size.sizeMb}mb`,
      group: 'Media',
      scenario: `Upload ${size.sizeMb} MB through POST /media vs direct minio putObject (median of ${size.reps}, MB/s)`,
      app: { rps: size.apiMbPerSec },
      baseline: { rps: size.directMbPerSec },
      appLabel: 'API MB/s',
      baselineLabel: 'direct MB/s',
      ratio: size.ratio,
      target: '≥ 0.8×',
      pass: size.ratio >= 0.8,
    }),
  );
  const rss = result.checks.rssIndependentOfSize;
  rows.push(
    ctx.row({
      id: 'media-rss',
      group: 'Media',
      scenario: `API peak RSS, ${rss.sizesMb[1]} MB upload vs ${rss.sizesMb[0]} MB upload`,
      value: rss.diffMb,
      unit: 'MB',
      target: '< 50 MB',
      pass: rss.pass === true,
      note: result.sizes.map((size) => `${size.sizeMb} MB: peak ${size.apiPeakRssMb} MB`).join(', '),
    }),
  );
  // A miss gets a CPU profile of the API, from a second run of the missed sizes (so the profiler never
  // slows the measured uploads down).
  const missed = result.sizes.filter((size) => !size.pass).map((size) => size.sizeMb);
  if (ctx.profileMisses && (missed.length || rss.pass === false)) {
    const dir = join(ctx.profileDir, 'media');
    const sizes = missed.length ? missed : [rss.sizesMb[1]];
    await ctx.spawnBench(
      'media',
      'bench/media.bench.mjs',
      {
        BENCH_MEDIA_SIZES_MB: sizes.join(','),
        BENCH_MEDIA_REPS: sizes.map(() => '2').join(','),
        BENCH_MEDIA_TIMEOUT_S: '600',
        BENCH_MEDIA_CPU_PROF: dir,
      },
      { run: 'media-profile' },
    );
    const file = existsSync(dir) ? readdirSync(dir).find((name) => name.endsWith('.cpuprofile')) : undefined;
    if (file)
      ctx.addProfile(
        'media',
        `POST /media, ${sizes.join(' and ')} MB uploads (2 each; a run of its own)`,
        join(dir, file),
      );
  }
  return rows;
}
