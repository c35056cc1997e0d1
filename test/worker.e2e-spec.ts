import type { INestApplicationContext } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { hostname } from 'node:os';
import { bearer, registerOwner, type TestAccount } from './helpers/auth';
import { createTestApp, createTestWorker } from './helpers/test-app';
import { waitFor } from './helpers/wait-for';

interface PingBody {
  id: string;
  status: string;
  requestId: string | null;
  processedBy: string | null;
}

/** Queues of this spec's own: spec files run in parallel, and no other file's worker may take its jobs. */
const OWN_QUEUES = { REDIS_KEY_PREFIX: `${process.env.REDIS_KEY_PREFIX ?? 'atrium-test:'}worker:` };
describe('API and worker cooperation', () => {
  let api: NestFastifyApplication;
  let worker: INestApplicationContext | undefined;

  let owner: TestAccount;

  beforeAll(async () => {
    api = await createTestApp(OWN_QUEUES);
    owner = await registerOwner(api);
  });

  afterAll(async () => {
    await worker?.close();
    await api.close();
  });

  const readPing = async (id: string): Promise<PingBody> =>
    (await api.inject({ url: `/api/v1/system/pings/${id}`, headers: bearer(owner.accessToken) })).json<PingBody>();

  it('should leave a ping queued while no worker runs, and the worker should process it once started', async () => {
    const created = await api.inject({
      method: 'POST',
      url: '/api/v1/system/pings',
      headers: { 'x-request-id': 'ping-req-1', ...bearer(owner.accessToken) },
    });
    expect(created.statusCode).toBe(202);
    const { id } = created.json<PingBody>();
    expect((await readPing(id)).status).toBe('queued');

    worker = await createTestWorker(OWN_QUEUES);
    const processed = await waitFor(
      async () => {
        const ping = await readPing(id);
        return ping.status === 'processed' ? ping : undefined;
      },
      { what: 'the worker to process the ping' },
    );

    expect(processed.processedBy).toBe(`${hostname()}:${process.pid}`);
    // The request id travelled with the job into the worker.
    expect(processed.requestId).toBe('ping-req-1');
  });

  it('should refuse pings without an access token', async () => {
    const res = await api.inject({ method: 'POST', url: '/api/v1/system/pings' });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ type: 'urn:atrium:problem:missing-token' });
  });

  it('should answer 404 for a ping that does not exist and 400 naming the field for a malformed id', async () => {
    const missing = await api.inject({
      url: '/api/v1/system/pings/019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88',
      headers: bearer(owner.accessToken),
    });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ type: 'urn:atrium:problem:ping-not-found' });
    const malformed = await api.inject({ url: '/api/v1/system/pings/not-a-uuid', headers: bearer(owner.accessToken) });
    expect(malformed.statusCode).toBe(400);
    expect(malformed.json()).toMatchObject({ errors: [{ field: 'id' }] });
  });
});
