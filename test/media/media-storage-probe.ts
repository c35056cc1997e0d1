import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Client } from 'minio';
import { AppConfig } from '../../src/config/app.config';
import { ObjectStorage } from '../../src/core/storage/object-storage';

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const files = await Promise.all(
    entries.map((entry) =>
      entry.isDirectory() ? walk(join(dir, entry.name)) : Promise.resolve([join(dir, entry.name)]),
    ),
  );
  return files.flat();
}

/** Every object key under `prefix` in the app's storage, read behind the app's back (local folder or bucket). */
export async function storedKeys(app: NestFastifyApplication, prefix: string): Promise<string[]> {
  const { storage } = app.get(AppConfig);
  if (storage.driver === 'local') {
    // The prefix may end inside a name (or be a whole key): walk its folder and filter.
    const folder = prefix.endsWith('/') ? prefix : prefix.slice(0, prefix.lastIndexOf('/') + 1);
    const files = await walk(join(storage.localDir, folder));
    return files
      .map((file) => relative(storage.localDir, file).split('\\').join('/'))
      .filter((key) => key.startsWith(prefix));
  }
  const { minio } = storage;
  const client = new Client({ ...minio, pathStyle: true });
  const keys: string[] = [];
  for await (const item of client.listObjectsV2(minio.bucket, prefix, true) as AsyncIterable<{ name?: string }>) {
    if (item.name) keys.push(item.name);
  }
  return keys;
}

/** The stored bytes of an object, through the app's storage driver. */
export async function storedBytes(app: NestFastifyApplication, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await app.get(ObjectStorage).get(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Reads a local-driver file directly (for assertions independent of the driver's own code). */
export function localFile(app: NestFastifyApplication, key: string): Promise<Buffer> {
  return readFile(join(app.get(AppConfig).storage.localDir, key));
}
