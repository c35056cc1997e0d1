// Regenerates .env.example and the README's configuration table from src/config (`npm run config:docs`).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { README_TABLE_END, README_TABLE_START, renderConfigTable, renderEnvExample } from '../src/config/config-docs';

const root = join(__dirname, '..');
writeFileSync(join(root, '.env.example'), renderEnvExample());
const readmePath = join(root, 'README.md');
const readme = readFileSync(readmePath, 'utf8');
const start = readme.indexOf(README_TABLE_START);
const end = readme.indexOf(README_TABLE_END);
if (start < 0 || end < 0) throw new Error(`README.md lacks the ${README_TABLE_START} / ${README_TABLE_END} markers`);
writeFileSync(
  readmePath,
  `${readme.slice(0, start + README_TABLE_START.length)}\n${renderConfigTable()}\n${readme.slice(end)}`,
);
process.stdout.write('wrote .env.example and the README configuration table\n');
