// Where a CPU profile's time goes: the top functions by self time, and self time per package (node_modules
// package, Atrium's own src/<area>, node internals, GC, idle).
//   node bench/profile-summary.mjs var/bench-profiles/<file>.cpuprofile [--top 20]
// Shares are of busy time (all samples except idle): what the process spent its CPU on.
import { readFileSync } from 'node:fs';

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

/** The package a function's script belongs to. */
export function packageOf(url, functionName) {
  if (!url) return SPECIAL.has(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (internals)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first.startsWith('@') ? `${first}/${second}` : first;
  }
  const src = /\/src\/(core|modules)\/([^/]+)\//.exec(url);
  if (src) return `atrium src/${src[1]}/${src[2]}`;
  if (/\/src\/[^/]+$/.test(url)) return 'atrium src/*';
  if (url.includes('/bench/')) return 'bench (fixture, preload)';
  return url.replace(/^file:\/\//, '');
}

function location(frame) {
  const url = frame.url.replace(/^file:\/\/.*\/(node_modules|var\/bench-dist|src)\//, '$1/');
  return url ? `${url}:${frame.lineNumber + 1}` : '';
}

/**
 * The package responsible for a sample: the nearest frame up the stack that is a dependency or Atrium's
 * own code (native code and node internals are charged to whoever called them, e.g. a socket write to pg).
 */
function responsibleOf(id, nodes, parents) {
  for (let current = id; current !== undefined; current = parents.get(current)) {
    const frame = nodes.get(current).callFrame;
    const pkg = packageOf(frame.url, frame.functionName);
    if (SPECIAL.has(pkg)) return pkg;
    if (pkg !== '(native)' && pkg !== 'node (internals)') return pkg;
  }
  return 'node (internals)';
}

/**
 * Self time per function and per package of a .cpuprofile (Chrome DevTools format), and per responsible
 * package (self time of native code and node internals charged to the package that called them). Samples
 * taken inside bench/preload.js (the profiler being started) are left out.
 */
export function summarize(profile, { top = 15 } = {}) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const underPreload = (id) => {
    for (let current = id; current !== undefined; current = parents.get(current)) {
      if (nodes.get(current).callFrame.url.endsWith('/bench/preload.js')) return true;
    }
    return false;
  };
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 1; i < samples.length; i++) {
    self.set(samples[i], (self.get(samples[i]) ?? 0) + Math.max(0, timeDeltas[i] ?? 0) / 1000);
  }
  const byFunction = new Map();
  const byPackage = new Map();
  const byResponsible = new Map();
  let totalMs = 0;
  let idleMs = 0;
  for (const [id, ms] of self) {
    const frame = nodes.get(id).callFrame;
    if (underPreload(id)) continue;
    totalMs += ms;
    if (frame.functionName === '(idle)') {
      idleMs += ms;
      continue;
    }
    const responsible = responsibleOf(id, nodes, parents);
    byResponsible.set(responsible, (byResponsible.get(responsible) ?? 0) + ms);
    const pkg = packageOf(frame.url, frame.functionName);
    const key = `${frame.functionName || '(anonymous)'}\u0000${location(frame)}`;
    const entry = byFunction.get(key) ?? {
      name: frame.functionName || '(anonymous)',
      location: location(frame),
      pkg,
      ms: 0,
    };
    entry.ms += ms;
    byFunction.set(key, entry);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
  }
  const busyMs = totalMs - idleMs;
  const share = (ms) => (busyMs > 0 ? ms / busyMs : 0);
  return {
    totalMs,
    idleMs,
    busyMs,
    functions: [...byFunction.values()]
      .sort((a, b) => b.ms - a.ms)
      .slice(0, top)
      .map((entry) => ({ ...entry, share: share(entry.ms) })),
    packages: [...byPackage.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, ms]) => ({
        pkg,
        ms,
        share: share(ms),
        responsibleMs: byResponsible.get(pkg) ?? 0,
        responsibleShare: share(byResponsible.get(pkg) ?? 0),
      })),
    responsible: [...byResponsible.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([pkg, ms]) => ({ pkg, ms, share: share(ms) })),
    /** Share of busy time in these packages' own code (self time). */
    shareOf: (names) =>
      share([...byPackage.entries()].filter(([pkg]) => names.includes(pkg)).reduce((a, [, ms]) => a + ms, 0)),
    /** Share of busy time charged to these packages (their self time plus the native/internal code they called). */
    responsibleShareOf: (names) =>
      share([...byResponsible.entries()].filter(([pkg]) => names.includes(pkg)).reduce((a, [, ms]) => a + ms, 0)),
  };
}

export function summarizeFile(file, options) {
  return summarize(JSON.parse(readFileSync(file, 'utf8')), options);
}

const pct = (value) => `${(value * 100).toFixed(1)}%`;

/** Markdown tables: top functions, then packages. */
export function formatSummary(summary, { top = 12 } = {}) {
  const lines = [
    `Busy ${Math.round(summary.busyMs)} ms of ${Math.round(summary.totalMs)} ms sampled (idle ${pct(summary.idleMs / (summary.totalMs || 1))}).`,
    '',
    '| Self time | Share of busy | Function | Where |',
    '| --: | --: | --- | --- |',
    ...summary.functions
      .slice(0, top)
      .map(
        (f) =>
          `| ${f.ms.toFixed(0)} ms | ${pct(f.share)} | \`${f.name}\` | ${f.location ? `\`${f.location}\`` : f.pkg} |`,
      ),
    '',
    '| Package (own code) | Self time | Share of busy | Package (incl. native/node code it called) | Time | Share of busy |',
    '| --- | --: | --: | --- | --: | --: |',
    ...Array.from({ length: Math.min(top, Math.max(summary.packages.length, summary.responsible.length)) }, (_, i) => {
      const own = summary.packages[i];
      const charged = summary.responsible[i];
      return (
        `| ${own ? `${own.pkg} | ${own.ms.toFixed(0)} ms | ${pct(own.share)}` : ' | | '} ` +
        `| ${charged ? `${charged.pkg} | ${charged.ms.toFixed(0)} ms | ${pct(charged.share)}` : ' | | '} |`
      );
    }),
  ];
  return lines.join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const topIndex = process.argv.indexOf('--top');
  const top = topIndex > 0 ? Number(process.argv[topIndex + 1]) : 20;
  console.log(formatSummary(summarizeFile(file, { top }), { top }));
}
