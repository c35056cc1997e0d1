// Writes a bench run: bench/results/<date>.json (full) or <date>.quick.json, and its section of
// BENCHMARKS.md (between <!-- bench:<mode>:start --> and <!-- bench:<mode>:end -->; the rest of the file is
// prose kept by hand). Markdown is formatted with prettier so `npm run lint` stays green.
//   node bench/report.mjs bench/results/<date>.json     (re-renders BENCHMARKS.md from a results file)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

const require = createRequire(import.meta.url);
const BENCHMARKS = join(ROOT, 'BENCHMARKS.md');

const int = (value) => Math.round(value).toLocaleString('en');
const ms = (value) =>
  value === undefined || value === null || Number.isNaN(value)
    ? '–'
    : value >= 100
      ? `${int(value)} ms`
      : `${Number(value.toPrecision(3))} ms`;

/** "1,234 req/s · p50 5 ms · p99 12 ms" from whatever a measurement has. */
function stats(measurement, label) {
  if (!measurement) return '';
  const parts = [];
  if (measurement.rps !== undefined) {
    const unit = label && /\/s$/.test(label) ? label.split(' ').at(-1) : 'req/s';
    parts.push(`${measurement.rps >= 100 ? int(measurement.rps) : Number(measurement.rps.toPrecision(3))} ${unit}`);
  }
  if (measurement.p50 !== undefined) parts.push(`p50 ${ms(measurement.p50)}`);
  if (measurement.p99 !== undefined) parts.push(`p99 ${ms(measurement.p99)}`);
  if (measurement.cpuMsPerRequest !== undefined) parts.push(`CPU ${ms(measurement.cpuMsPerRequest)}/req`);
  const prefix = label && !/\/s$/.test(label) ? `${label}: ` : '';
  return prefix + parts.join(' · ');
}

function outcome(row) {
  if (row.ratio === Infinity) return '∞ (no answer)';
  if (row.ratio !== undefined && row.ratio !== null) return `${row.ratio.toFixed(2)}×`;
  if (row.value === undefined || row.value === null) return '–';
  const value = Math.abs(row.value) >= 100 ? int(row.value) : Number(row.value.toPrecision(3));
  return `${value} ${row.unit ?? ''}`.trim();
}

const verdict = (row) =>
  row.informational ? (row.pass ? 'pass (info)' : 'miss (info)') : row.pass ? '**pass**' : '**MISS**';
const cell = (text) =>
  String(text ?? '')
    .replace(/\|/g, '\\|')
    .replace(/\n/g, ' ');

export function renderSection(result) {
  const { machine, mode } = result;
  const lines = [];
  const title = mode === 'quick' ? 'Quick run (`npm run bench:quick`)' : 'Full run (`npm run bench`)';
  lines.push(`## ${title}: ${result.date.slice(0, 10)}`, '');
  const d = result.dataset;
  lines.push(
    `Dataset \`${d.sizes.database}\`: ${int(d.sizes.customers)} customers, ${int(d.sizes.posts)} posts, ${int(d.sizes.auditRows)} audit rows, ` +
      `${int(d.sizes.departments)} departments, ${int(d.sizes.users)} users (${d.reused ? 'reused' : `generated in ${int(d.seconds)} s`}). ` +
      `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB; Node ${machine.node}; PostgreSQL ${machine.postgres} ` +
      `(shared_buffers ${machine.postgresSettings.shared_buffers}); Redis ${machine.redis ?? '?'}. ` +
      `Load average (1/5/15 min) ${machine.loadAverageAtStart.join(' / ')} at the start, ${result.loadAverageAtEnd.join(' / ')} at the end ` +
      `(other work shared the machine). Durations: ${result.config.duration} s per autocannon run after ${result.config.warmup} s warm-up, ` +
      `${result.config.rounds} round${result.config.rounds > 1 ? 's (A B, then B A; averaged)' : ''}; latency probes ${result.config.probeSeconds} s per round. ` +
      `Whole run ${int(result.seconds)} s (build ${int(result.timings.build ?? 0)} s, dataset ${int(result.timings.dataset ?? 0)} s).`,
    '',
  );
  const passed = result.rows.filter((r) => !r.informational && r.pass).length;
  const total = result.rows.filter((r) => !r.informational).length;
  lines.push(`**${passed} of ${total} targets met.**`, '');
  lines.push(
    '| Area | Scenario | App | Baseline | Ratio / value | Target | Result | Notes |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  );
  for (const row of result.rows) {
    lines.push(
      `| ${cell(row.group)} | ${cell(row.scenario)} | ${cell(stats(row.app, row.appLabel))} | ${cell(stats(row.baseline, row.baselineLabel))} | ${cell(outcome(row))} | ${cell(row.target)} | ${verdict(row)} | ${cell(row.note)} |`,
    );
  }
  lines.push('');
  if (result.errors?.length) {
    lines.push(
      'Scenario groups that failed to run:',
      '',
      ...result.errors.map((e) => `- ${e.group}: ${cell(e.error.split('\n')[0])}`),
      '',
    );
  }

  if (result.plans?.length) {
    const where = mode === 'quick' ? '`var/bench-plans-quick/`' : '`bench/plans/`';
    lines.push(`### Query plans (${where}, \`EXPLAIN (ANALYZE, BUFFERS)\` of the SQL the API sent)`, '');
    lines.push(
      '| Query | Execution | Partitions: in the plan / read / holding the rows (of all) | Check |',
      '| --- | --: | --- | --- |',
    );
    for (const plan of result.plans) {
      const parts = plan.partitions
        ? `${plan.partitions.appear.length} / ${plan.partitions.executed.length} / ${plan.partitions.relevant.length} (of ${plan.partitions.total})`
        : '';
      lines.push(
        `| \`${plan.name}\` | ${ms(plan.executionMs)} | ${parts} | ${plan.violations.length ? `**violation**: ${cell(plan.violations.join('; '))}` : 'ok'} |`,
      );
    }
    lines.push('');
  }

  if (result.profiles?.length) {
    lines.push('### CPU profiles of the API (`bench/profile-summary.mjs`)', '');
    for (const profile of result.profiles) {
      lines.push(`#### ${profile.name}: ${profile.description}`, '', profile.text, '');
    }
  }
  return lines.join('\n');
}

const TEMPLATE = `# Benchmarks

See the README's "Performance" section for what each part measures; this file holds the numbers.

<!-- bench:full:start -->
<!-- bench:full:end -->

<!-- bench:quick:start -->
<!-- bench:quick:end -->
`;

export async function writeReport(result) {
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${result.date.slice(0, 10)}${result.mode === 'quick' ? '.quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);

  const current = existsSync(BENCHMARKS) ? readFileSync(BENCHMARKS, 'utf8') : TEMPLATE;
  const start = `<!-- bench:${result.mode}:start -->`;
  const end = `<!-- bench:${result.mode}:end -->`;
  const section = `${start}\n\n${renderSection(result)}\n\n${end}`;
  const from = current.indexOf(start);
  const to = current.indexOf(end);
  const next =
    from >= 0 && to > from
      ? current.slice(0, from) + section + current.slice(to + end.length)
      : `${current.trimEnd()}\n\n${section}\n`;
  const prettier = require('prettier');
  const options = (await prettier.resolveConfig(BENCHMARKS)) ?? {};
  writeFileSync(BENCHMARKS, await prettier.format(next, { ...options, parser: 'markdown' }));
  return { file, markdown: BENCHMARKS };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const result = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  const { markdown } = await writeReport(result);
  console.log(`wrote ${markdown}`);
}
