import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { RawServerDefault } from 'fastify';

/** Deepest nesting of objects and arrays a JSON request body may have (custom fields need a handful). */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether the JSON text nests objects and arrays deeper than `max`. One pass, no allocation; brackets inside
 * strings do not count. Malformed JSON is left for the parser to refuse.
 */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c)
        i++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) {
      inString = true;
    } else if (char === 0x7b || char === 0x5b) {
      if (++depth > max) return true;
    } else if (char === 0x7d || char === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * Fastify's own JSON parser (prototype-poisoning protection included) behind a nesting limit, registered
 * through Nest so that it replaces the parser Nest would register at init. class-transformer and
 * class-validator walk request bodies recursively: a body nested 10,000 levels deep (60 KB, far below
 * BODY_LIMIT_BYTES) overflowed the stack on every request and answered 500. Too deep is a 400 malformed-body
 * before anything walks it.
 */
export function limitJsonDepth(app: NestFastifyApplication, maxDepth = MAX_JSON_DEPTH): void {
  const fastify = app.getHttpAdapter().getInstance();
  const parse = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<RawServerDefault>(
    'application/json',
    { bodyLimit: fastify.initialConfig.bodyLimit },
    (request, body, done) => {
      const text = body.toString('utf8');
      if (jsonDepthExceeds(text, maxDepth)) {
        const error = Object.assign(new Error(`The JSON body nests deeper than ${maxDepth} levels.`), {
          statusCode: 400,
          code: 'FST_ERR_CTP_INVALID_JSON_BODY',
        });
        done(error, undefined);
        return;
      }
      void parse(request, text, done);
    },
  );
}
