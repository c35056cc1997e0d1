import type { LightMyRequestResponse } from 'fastify';
import type { Redis } from 'ioredis';

/** The commands of a RESP write (arrays of bulk strings, as ioredis sends them), each as its arguments. */
function decodeCommands(chunk: Buffer): string[][] {
  const commands: string[][] = [];
  let at = 0;
  const line = (): string => {
    const end = chunk.indexOf('\r\n', at);
    const text = chunk.toString('latin1', at, end);
    at = end + 2;
    return text;
  };
  while (at < chunk.length) {
    const count = Number(line().slice(1));
    const args: string[] = [];
    for (let i = 0; i < count; i++) {
      const length = Number(line().slice(1));
      args.push(chunk.toString('utf8', at, at + length));
      at += length + 2;
    }
    commands.push(args);
  }
  return commands;
}

/** What the app's shared Redis client writes to its socket while `run` runs: one entry per write. */
export async function writesDuring(
  redis: Redis,
  run: () => Promise<LightMyRequestResponse>,
): Promise<{ response: LightMyRequestResponse; writes: string[][][] }> {
  const socket = redis.stream;
  const chunks: Buffer[] = [];
  const write = socket.write.bind(socket) as (chunk: unknown, ...rest: unknown[]) => boolean;
  socket.write = (chunk: unknown, ...rest: unknown[]) => {
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return write(chunk, ...rest);
  };
  try {
    const response = await run();
    return { response, writes: chunks.map(decodeCommands) };
  } finally {
    socket.write = write;
  }
}

/** The writes carrying a command about an account: its session, its organization's grants, its counters. */
export function writesAbout(
  writes: string[][][],
  account: { sessionId: string; organizationId: string; userId: string },
): string[][][] {
  const ids = [account.sessionId, account.organizationId, account.userId];
  return writes.filter((commands) => commands.some((args) => args.some((arg) => ids.some((id) => arg.includes(id)))));
}
