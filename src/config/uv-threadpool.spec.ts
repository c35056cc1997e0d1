import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * In a fresh Node process (this one's pool is long started), `blocked` reads of FIFOs nobody writes to
 * each hold a pool thread; the script prints whether other pool work still finds a thread, then unblocks them.
 */
function poolHasRoomAfter(blocked: number, env: Record<string, string | undefined>, dotEnv = ''): string {
  const dir = mkdtempSync(join(tmpdir(), 'uv-pool-'));
  writeFileSync(join(dir, '.env'), dotEnv);
  const script = `
    require(${JSON.stringify(join(__dirname, 'uv-threadpool.ts'))});
    const { execFileSync } = require('node:child_process');
    const fs = require('node:fs');
    const fifos = Array.from({ length: ${blocked} }, (_, i) => ${JSON.stringify(dir)} + '/f' + i);
    for (const fifo of fifos) execFileSync('mkfifo', [fifo]);
    for (const fifo of fifos) fs.open(fifo, 'r', () => {});
    const finish = (answer) => {
      console.log(answer);
      for (const fifo of fifos) fs.closeSync(fs.openSync(fifo, 'w'));
      process.exit(0);
    };
    const timer = setTimeout(() => finish('starved'), 1500);
    require('node:crypto').pbkdf2('x', 'y', 1, 8, 'sha256', () => { clearTimeout(timer); finish('room'); });
  `;
  try {
    const child = spawnSync(
      process.execPath,
      ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script],
      {
        cwd: dir,
        env: { PATH: process.env.PATH, TS_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.json'), ...env },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    return `${child.stdout.trim()}${child.stderr.trim() ? ` / ${child.stderr.trim()}` : ''}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('uv-threadpool', () => {
  it('should give libuv 8 threads when the environment does not set UV_THREADPOOL_SIZE', () => {
    // libuv's own default is 4: 7 blocked threads would leave no room.
    expect(poolHasRoomAfter(7, {})).toBe('room');
    expect(poolHasRoomAfter(8, {})).toBe('starved');
  });

  it('should keep the size the environment sets', () => {
    expect(poolHasRoomAfter(3, { UV_THREADPOOL_SIZE: '4' })).toBe('room');
    expect(poolHasRoomAfter(4, { UV_THREADPOOL_SIZE: '4' })).toBe('starved');
  });

  it('should keep the size a .env file sets', () => {
    expect(poolHasRoomAfter(4, {}, 'UV_THREADPOOL_SIZE=4\n')).toBe('starved');
  });
});
