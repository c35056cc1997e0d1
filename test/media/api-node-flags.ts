import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/**
 * The node flags of `npm run start:api` (package.json is their one source; scripts/start.mjs, the Dockerfile
 * and bench/media.bench.mjs use the same), so a spawned API runs with the memory settings of production.
 */
export function apiNodeFlags(): string[] {
  const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
    .scripts;
  return scripts['start:api'].split(/\s+/).filter((word) => word.startsWith('--'));
}
