// Scheduled publishing: posts due within one minute, two worker processes, every post published exactly
// once, publish delay p99: bench/posts.bench.mjs, spawned (its own database, API and workers).
export async function postsScenario(ctx) {
  const posts = ctx.mode === 'quick' ? 200 : 10_000;
  const result = await ctx.spawnBench('posts', 'bench/posts.bench.mjs', { BENCH_POSTS: String(posts) });
  const once = result.exactlyOnce;
  return [
    ctx.row({
      id: 'posts-publish-p99',
      group: 'Posts',
      scenario: `Scheduled publishing: ${result.posts.toLocaleString('en')} posts due within one minute, 2 workers: delay p99 (published_at − publish_at)`,
      app: { p50: result.publishLatencyMs.p50, p99: result.publishLatencyMs.p99 },
      value: result.publishLatencyMs.p99,
      unit: 'ms',
      target: '≤ 2,000 ms',
      pass: result.publishLatencyMs.p99 <= 2000,
      note: `max ${Math.round(result.publishLatencyMs.max)} ms; all published ${Math.round(result.drainedAfterLastDueSeconds)} s after the last was due`,
    }),
    ctx.row({
      id: 'posts-exactly-once',
      group: 'Posts',
      scenario: 'Every scheduled post published exactly once (one posts.publish audit entry each)',
      value: once.publishedOnce,
      unit: `of ${result.posts.toLocaleString('en')}`,
      target: `all ${result.posts.toLocaleString('en')}`,
      pass: once.publishedOnce === result.posts && once.publishedTwice === 0 && once.missingAudit === 0,
      note: `${once.publishedTwice} twice, ${once.missingAudit} without an audit entry`,
    }),
  ];
}
