import { mkdtemp, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The slice of s3rver's API used here (the package ships no type declarations). */
interface S3rverOptions {
  address: string;
  port: number;
  silent: boolean;
  directory: string;
  configureBuckets: { name: string; configs?: string[] }[];
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}

type S3rverConstructor = new (options: S3rverOptions) => S3rverInstance;

// s3rver is CommonJS without types: load it through a require of our own instead of an untyped import.
const S3rver = createRequire(__filename)('s3rver') as S3rverConstructor;

/** The credentials s3rver accepts out of the box (it checks the key id; V4 signatures are not verified). */
const ACCESS_KEY = 'S3RVER';
const SECRET_KEY = 'S3RVER';

export interface S3rverHandle {
  /** `http://127.0.0.1:<port>`; the `minio` client takes `endPoint: '127.0.0.1', port, useSSL: false`. */
  endpoint: string;
  port: number;
  accessKey: string;
  secretKey: string;
  /** Created before the server starts listening. */
  bucket: string;
  /** Stops the server and removes its data directory. */
  close(): Promise<void>;
}

/** An in-process S3 (s3rver) on a free port of 127.0.0.1, storing into a temp directory of its own. */
export async function startS3rver(bucket = 'atrium-test'): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'atrium-s3rver-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket }],
  });
  let address: AddressInfo;
  try {
    address = await server.run();
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let closed = false;
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    port: address.port,
    accessKey: ACCESS_KEY,
    secretKey: SECRET_KEY,
    bucket,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await server.close();
      } finally {
        await rm(directory, { recursive: true, force: true });
      }
    },
  };
}
