// Preloaded (`node -r bench/preload.js …`) into the API and worker processes that bench/run.mjs starts. It
// adds nothing to a request unless the bench asks for it over the IPC channel:
//   { cmd: 'capture', on: true|false }   record every SQL statement (text + parameters) sent through `pg`
//   { cmd: 'profile-start' } / { cmd: 'profile-stop', file }   CPU profile (inspector) written as .cpuprofile
//   { cmd: 'heap-snapshot', file }   a full GC, then a heap snapshot written to file (blocks for seconds)
//   { cmd: 'memory', gc? }   process.memoryUsage(), after a full GC when gc is true and node runs with --expose-gc
// Every message is answered with { id, ok, … }. Without a parent (the bench died) the process exits.
'use strict';
const { Session } = require('node:inspector');
const { writeFileSync } = require('node:fs');

if (typeof process.send === 'function') {
  let captured = null;
  const pg = require('pg');
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function capturingQuery(config, values, callback) {
    if (captured) {
      const text = typeof config === 'string' ? config : config?.text;
      const params = Array.isArray(values) ? values : config?.values;
      if (typeof text === 'string') captured.push({ text, values: params ?? [] });
    }
    return query.call(this, config, values, callback);
  };

  let session;
  const post = (method, params) =>
    new Promise((resolve, reject) =>
      session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
    );

  const handlers = {
    capture({ on }) {
      const statements = captured ?? [];
      captured = on ? [] : null;
      return { statements: on ? [] : statements };
    },
    async 'profile-start'({ intervalUs }) {
      session ??= new Session();
      try {
        session.connect();
      } catch {
        // already connected
      }
      await post('Profiler.enable');
      await post('Profiler.setSamplingInterval', { interval: intervalUs ?? 500 });
      await post('Profiler.start');
      return {};
    },
    async 'profile-stop'({ file }) {
      const { profile } = await post('Profiler.stop');
      writeFileSync(file, JSON.stringify(profile));
      return { file };
    },
    'heap-snapshot'({ file }) {
      if (typeof global.gc === 'function') global.gc();
      return { file: require('node:v8').writeHeapSnapshot(file) };
    },
    memory({ gc }) {
      // Without a collection first, heapUsed is mostly garbage not yet collected: no trend can be read from it.
      const collected = Boolean(gc) && typeof global.gc === 'function';
      if (collected) global.gc();
      return { memory: process.memoryUsage(), collected };
    },
  };

  process.on('message', (message) => {
    if (!message || typeof message !== 'object' || !(message.cmd in handlers)) return;
    Promise.resolve()
      .then(() => handlers[message.cmd](message))
      .then(
        (result) => process.send({ id: message.id, ok: true, ...result }),
        (error) => process.send({ id: message.id, ok: false, error: String(error?.stack ?? error) }),
      );
  });
  // The IPC channel must not keep a finished process alive, and a process whose bench is gone must stop.
  process.channel?.unref();
  process.on('disconnect', () => process.exit(0));
}
