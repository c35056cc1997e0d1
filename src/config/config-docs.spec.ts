import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { envSchema } from './app.config';
import { README_TABLE_END, README_TABLE_START, renderConfigTable, renderEnvExample } from './config-docs';

const root = join(__dirname, '..', '..');

describe('configuration docs', () => {
  it('should keep .env.example in sync with the settings in src/config (run `npm run config:docs`)', () => {
    expect(readFileSync(join(root, '.env.example'), 'utf8')).toBe(renderEnvExample());
  });

  it('should list every setting, with a description, in .env.example', () => {
    const example = readFileSync(join(root, '.env.example'), 'utf8');
    for (const [name, variable] of Object.entries(envSchema)) {
      expect(variable.description.length).toBeGreaterThan(10);
      expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
    }
  });

  it('should keep the README configuration table in sync (run `npm run config:docs`)', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const table = readme.slice(
      readme.indexOf(README_TABLE_START) + README_TABLE_START.length,
      readme.indexOf(README_TABLE_END),
    );
    expect(table.trim()).toBe(renderConfigTable());
  });
});
