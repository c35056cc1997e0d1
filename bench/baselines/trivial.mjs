// Baseline of the bench API's trivial routes (bench/fixtures/bench-api.main.ts): bare Fastify answering the
// same JSON, no authentication, permission check, rate limit or framework pipeline. Prints READY <port>.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Fastify = require('fastify');

const app = Fastify({ logger: false });
for (const path of ['/bench/public', '/bench/private', '/bench/permitted']) app.get(path, async () => ({ ok: true }));

await app.listen({ port: 0, host: '127.0.0.1' });
process.stdout.write(`READY ${app.server.address().port}\n`);
