// `prestart` / `pretest`: on a fresh clone, install the locked dependencies first, so `npm start` and
// `npm test` are the only two commands anyone needs. A no-op once node_modules is in place.
import { execSync } from 'node:child_process';
import { existsSync } from 'node:fs';

if (!existsSync(new URL('../node_modules/.bin/nest', import.meta.url))) {
  console.log('[setup] node_modules missing: running npm ci');
  execSync('npm ci', { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
}
