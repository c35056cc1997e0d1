import bcrypt from 'bcrypt';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { getPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BcryptProcess } from './bcrypt-process';

/** The fields of /proc/<pid>[/task/<tid>]/stat after the name (which may hold spaces): index 0 is field 3. */
function statOf(path: string): string[] {
  const stat = readFileSync(`${path}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
}
const sessionOf = (pid: number): number => Number(statOf(`/proc/${pid}`)[6 - 3]);
const niceOf = (path: string): number => Number(statOf(path)[19 - 3]);
/** Every thread of the process with its nice value, read from /proc rather than from what the child said. */
const threadNices = (pid: number): number[] =>
  readdirSync(`/proc/${pid}/task`).map((tid) => niceOf(`/proc/${pid}/task/${tid}`));
/** Running (a zombie nobody reaped yet has exited). */
const alive = (pid: number): boolean => existsSync(`/proc/${pid}/stat`) && statOf(`/proc/${pid}`)[0] !== 'Z';
const hasAutogroups = existsSync('/proc/self/autogroup');
/** Empty for a process in the kernel's default autogroup (one whose session goes back to init's, as in CI). */
const ownAutogroup = (): string => readFileSync('/proc/self/autogroup', 'utf8');

async function until(condition: () => boolean, what: string, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !condition();) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe(BcryptProcess.name, () => {
  const open: BcryptProcess[] = [];
  const started = async (size: number, niceness: number): Promise<BcryptProcess> => {
    const bcryptProcess = new BcryptProcess({ size, niceness, respawnDelayMs: 50 });
    open.push(bcryptProcess);
    await bcryptProcess.start();
    return bcryptProcess;
  };
  const pidOf = (bcryptProcess: BcryptProcess): number => bcryptProcess.info?.pid as number;

  afterEach(async () => {
    await Promise.all(open.splice(0).map((bcryptProcess) => bcryptProcess.close()));
  });

  it('should run in a session of its own, its autogroup and every thread at the configured niceness', async () => {
    const before = getPriority();
    const autogroupBefore = hasAutogroups ? ownAutogroup() : '';
    const bcryptProcess = await started(3, 19);
    const pid = pidOf(bcryptProcess);
    expect(pid).not.toBe(process.pid);
    // A session leader: a new session, hence a scheduler autogroup of its own.
    expect(sessionOf(pid)).toBe(pid);
    expect(sessionOf(pid)).not.toBe(sessionOf(process.pid));
    if (hasAutogroups) {
      const autogroup = readFileSync(`/proc/${pid}/autogroup`, 'utf8').trim();
      expect(autogroup).toMatch(/ nice 19$/);
      expect(autogroup.split(' ')[0]).not.toBe(ownAutogroup().split(' ')[0]);
      expect(bcryptProcess.info?.autogroup).toBe(autogroup);
    }
    // The main thread, V8's helpers and the libuv pool (3 threads, started before ready).
    const nices = threadNices(pid);
    expect(nices.length).toBeGreaterThanOrEqual(1 + 3);
    expect(new Set(nices)).toEqual(new Set([19]));
    expect(bcryptProcess.info?.threads.map((thread) => thread.niceness)).toEqual(nices.map(() => 19));
    expect(bcryptProcess.info?.problems).toEqual([]);
    // This process is left alone.
    expect(getPriority()).toBe(before);
    if (hasAutogroups) expect(ownAutogroup()).toBe(autogroupBefore);
  });

  it('should leave its priority alone when the niceness is 0', async () => {
    const bcryptProcess = await started(1, 0);
    const pid = pidOf(bcryptProcess);
    expect(new Set(threadNices(pid))).toEqual(new Set([getPriority()]));
    if (hasAutogroups) expect(readFileSync(`/proc/${pid}/autogroup`, 'utf8')).toMatch(/ nice 0\n$/);
  });

  it('should hash and compare like bcrypt', async () => {
    const bcryptProcess = await started(2, 19);
    const hash = await bcryptProcess.hash('pre-hashed secret', 4);
    expect(bcrypt.getRounds(hash)).toBe(4);
    await expect(bcrypt.compare('pre-hashed secret', hash)).resolves.toBe(true);
    await expect(bcryptProcess.compare('pre-hashed secret', hash)).resolves.toBe(true);
    await expect(bcryptProcess.compare('another secret', hash)).resolves.toBe(false);
    await expect(bcryptProcess.compare('pre-hashed secret', 'not-a-bcrypt-hash')).resolves.toBe(false);
    await expect(bcryptProcess.compare('pre-hashed secret', await bcrypt.hash('pre-hashed secret', 5))).resolves.toBe(
      true,
    );
    // More calls than pool threads: the rest wait in the child's pool instead of failing.
    const many = await Promise.all(Array.from({ length: 5 }, () => bcryptProcess.compare('pre-hashed secret', hash)));
    expect(many).toEqual([true, true, true, true, true]);
  });

  it('should reject the calls in flight when the process dies, and replace it', async () => {
    const bcryptProcess = await started(1, 19);
    const hash = await bcrypt.hash('pre-hashed secret', 10);
    const victim = pidOf(bcryptProcess);
    const inFlight = bcryptProcess.compare('pre-hashed secret', hash);
    process.kill(victim, 'SIGKILL');
    await expect(inFlight).rejects.toThrow(/bcrypt process exited with signal SIGKILL/);

    await expect(bcryptProcess.compare('pre-hashed secret', hash)).resolves.toBe(true);
    const replacement = pidOf(bcryptProcess);
    expect(replacement).not.toBe(victim);
    expect(sessionOf(replacement)).toBe(replacement);
    expect(new Set(threadNices(replacement))).toEqual(new Set([19]));
  });

  it('should outlast a SIGTERM or SIGINT sent to every process of the service, and end with the channel', async () => {
    const bcryptProcess = await started(1, 19);
    const pid = pidOf(bcryptProcess);
    const hash = await bcrypt.hash('pre-hashed secret', 4);
    process.kill(pid, 'SIGTERM');
    process.kill(pid, 'SIGINT');
    await expect(bcryptProcess.compare('pre-hashed secret', hash)).resolves.toBe(true);
    expect(pidOf(bcryptProcess)).toBe(pid);
    await bcryptProcess.close();
    expect(alive(pid)).toBe(false);
  });

  it('should end the process when closed, and reject calls in flight and after', async () => {
    const bcryptProcess = await started(2, 19);
    const pid = pidOf(bcryptProcess);
    const inFlight = bcryptProcess.compare('pre-hashed secret', await bcrypt.hash('pre-hashed secret', 10));
    const rejected = expect(inFlight).rejects.toThrow(/closed/);
    await bcryptProcess.close();
    await rejected;
    expect(alive(pid)).toBe(false);
    expect(bcryptProcess.info).toBeUndefined();
    await expect(bcryptProcess.compare('x', 'y')).rejects.toThrow(/closed/);
  });

  describe('when the API process ends without closing it', () => {
    /** A process that starts a BcryptProcess, prints the child's pid, then lingers or not. */
    function parent(linger: boolean) {
      const script = `
        const { BcryptProcess } = require(${JSON.stringify(join(__dirname, 'bcrypt-process.ts'))});
        const bcryptProcess = new BcryptProcess({ size: 1, niceness: 19 });
        bcryptProcess.start().then(() => {
          process.stdout.write(bcryptProcess.info.pid + '\\n');
          ${linger ? 'setInterval(() => undefined, 1000);' : ''}
        });`;
      const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, NODE_OPTIONS: '' },
      });
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const bcryptPid = new Promise<number>((resolve, reject) => {
        child.stdout.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
        child.once('exit', () => reject(new Error('the parent exited before printing a pid')));
      });
      return { child, exited, bcryptPid };
    }

    it('should let an idle API exit, and exit with it', async () => {
      const { exited, bcryptPid } = parent(false);
      const pid = await bcryptPid;
      // Nothing in flight: the idle child does not keep its parent alive...
      await exited;
      // ...and follows it.
      await until(() => !alive(pid), `bcrypt process ${pid} to exit`);
    }, 20_000);

    it('should exit when the API is killed with SIGKILL', async () => {
      const { child, exited, bcryptPid } = parent(true);
      const pid = await bcryptPid;
      expect(alive(pid)).toBe(true);
      child.kill('SIGKILL');
      await exited;
      await until(() => !alive(pid), `bcrypt process ${pid} to exit`);
    }, 20_000);
  });

  describe('with a child that cannot start', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'bcrypt-process-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('should reject start and later calls rather than hang', async () => {
      const script = join(dir, 'broken.js');
      // Exits with code 1 before it is ready, as a child whose modules fail to load does, but quietly: a thrown
      // error would print its stack into the test output (the child shares this process's stderr).
      writeFileSync(script, `process.exit(1);`);
      const broken = new BcryptProcess({ size: 1, niceness: 19, script, respawnDelayMs: 50 });
      open.push(broken);
      await expect(broken.start()).rejects.toThrow(/bcrypt process exited with code 1/);
      await expect(broken.compare('x', 'y')).rejects.toThrow(/closed/);

      const lazy = new BcryptProcess({ size: 1, niceness: 19, script, respawnDelayMs: 60_000 });
      open.push(lazy);
      await expect(lazy.compare('x', 'y')).rejects.toThrow(/exited with code 1/);
      // Retried only after respawnDelayMs: meanwhile calls fail fast with the same cause.
      await expect(lazy.compare('x', 'y')).rejects.toThrow(/exited with code 1/);
    });
  });
});
