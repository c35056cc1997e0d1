// Nest alone: a Nest application on the Fastify adapter with one controller answering GET /bench/permitted with
// the same JSON as bench/baselines/trivial.mjs, and nothing else (no global guard, hook, interceptor, pipe or
// filter, no logger). Measured against bare Fastify, it is the framework's own floor for the trivial-route
// target on this machine; the API's trivial routes cannot be faster. Prints READY <port>.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
require('reflect-metadata');
const { Controller, Get, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { FastifyAdapter } = require('@nestjs/platform-fastify');

// Decorators applied by hand: this file is plain JavaScript, run as it is.
class TrivialController {
  permitted() {
    return { ok: true };
  }
}
Get('bench/permitted')(
  TrivialController.prototype,
  'permitted',
  Object.getOwnPropertyDescriptor(TrivialController.prototype, 'permitted'),
);
Controller()(TrivialController);

class TrivialModule {}
Module({ controllers: [TrivialController] })(TrivialModule);

const app = await NestFactory.create(TrivialModule, new FastifyAdapter(), { logger: false });
await app.listen(0, '127.0.0.1');
process.stdout.write(`READY ${app.getHttpServer().address().port}\n`);
