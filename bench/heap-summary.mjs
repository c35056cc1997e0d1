// Heap snapshots (.heapsnapshot, e.g. from LOAD_HEAP_SNAPSHOTS=1 npm run load) summarised by constructor:
// object count and self size per (node type, name). With two snapshots, the difference: what grew between
// them, largest first. A leak shows as a constructor whose count keeps growing with the requests served.
//   node bench/heap-summary.mjs var/load-snapshots/<warm>.heapsnapshot var/load-snapshots/<end>.heapsnapshot
import { readFileSync } from 'node:fs';

const TOP = Number(process.env.HEAP_SUMMARY_TOP ?? 25);

/** Map of "type name" to { count, size } over every node of the snapshot. */
function summarize(file) {
  const { snapshot, nodes, strings } = JSON.parse(readFileSync(file, 'utf8'));
  const fields = snapshot.meta.node_fields;
  const types = snapshot.meta.node_types[0];
  const width = fields.length;
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((field) => fields.indexOf(field));
  const byKey = new Map();
  let total = 0;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    // Strings and code are named by their content: one bucket per type says enough.
    const name = type === 'object' || type === 'closure' || type === 'native' ? strings[nodes[i + nameAt]] : '';
    const key = `${type} ${name.slice(0, 80)}`;
    const entry = byKey.get(key) ?? { count: 0, size: 0 };
    entry.count++;
    entry.size += nodes[i + sizeAt];
    total += nodes[i + sizeAt];
    byKey.set(key, entry);
  }
  return { byKey, total, nodes: nodes.length / width };
}

function mb(bytes) {
  return (bytes / 1024 / 1024).toFixed(2);
}

function table(rows) {
  for (const [key, { count, size }] of rows) {
    console.log(`${String(count).padStart(10)} ${mb(size).padStart(9)} MB  ${key}`);
  }
}

const [first, second] = process.argv.slice(2);
if (!first) {
  console.error('usage: node bench/heap-summary.mjs <snapshot> [<later snapshot>]');
  process.exit(2);
}
const a = summarize(first);
console.log(`${first}: ${a.nodes} objects, ${mb(a.total)} MB`);
if (!second) {
  table([...a.byKey].sort((x, y) => y[1].size - x[1].size).slice(0, TOP));
} else {
  const b = summarize(second);
  console.log(`${second}: ${b.nodes} objects, ${mb(b.total)} MB`);
  console.log(`difference: ${b.nodes - a.nodes} objects, ${mb(b.total - a.total)} MB; largest growth:`);
  const keys = new Set([...a.byKey.keys(), ...b.byKey.keys()]);
  const diff = [...keys].map((key) => {
    const before = a.byKey.get(key) ?? { count: 0, size: 0 };
    const after = b.byKey.get(key) ?? { count: 0, size: 0 };
    return [key, { count: after.count - before.count, size: after.size - before.size }];
  });
  table(diff.sort((x, y) => y[1].size - x[1].size).slice(0, TOP));
  console.log('by count:');
  table(diff.sort((x, y) => y[1].count - x[1].count).slice(0, 10));
}
