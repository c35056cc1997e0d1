import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app.config';
import { ValidationException } from '../exceptions/app.exception';
import type { SortDirection, SortType, SortValue } from './sort';

/** Where a page ended: the last row's sort key and id, within one list and one sort. */
export interface CursorPayload {
  scope: string;
  field: string;
  direction: SortDirection;
  value: SortValue;
  id: string;
}

/** What the request being served expects a cursor to be for; anything else is a foreign cursor. */
export interface CursorExpectation {
  scope: string;
  field: string;
  direction: SortDirection;
  type: SortType;
}

/** The JSON inside a cursor; short keys keep URLs short. */
interface WireCursor {
  v: 1;
  s: string;
  k: string;
  d: SortDirection;
  x: string | number;
  i: string;
}

const VERSION = 1;
/** Far above any real cursor (~200 characters); bounds the work an attacker can make us do. */
export const MAX_CURSOR_LENGTH = 1024;
const TAG_BYTES = 16;
const INVALID_CURSOR = 'cursor is invalid or does not belong to this list';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Only the canonical form Date#toISOString produces, so a value has exactly one encoding.
const ISO_DATE = /^(?:\d{4}|[+-]\d{6})-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function invalidCursor(): ValidationException {
  return new ValidationException([{ field: 'cursor', message: INVALID_CURSOR }]);
}

/**
 * Opaque, tamper-evident list cursors: `base64url(json).base64url(tag)`, the tag being HMAC-SHA256 over the
 * encoded JSON, truncated to 128 bits. Clients cannot forge a position or read one list's cursor into
 * another; every malformed or foreign cursor is the same 400 on `cursor`, so none reveals which check failed.
 */
@Injectable()
export class CursorCodec {
  private readonly key: KeyObject;

  constructor(config: AppConfig) {
    // A key of its own, so CURSOR_SECRET reused for something else never signs a valid cursor by accident.
    // Made a KeyObject once: createHmac given a Buffer re-imports the key on every call (Node 24's
    // prepareSecretKey), which showed up as several percent of a list request's CPU.
    this.key = createSecretKey(
      createHmac('sha256', config.pagination.cursorSecret).update('atrium:list-cursor:v1').digest(),
    );
  }

  encode(payload: CursorPayload): string {
    const wire: WireCursor = {
      v: VERSION,
      s: payload.scope,
      k: payload.field,
      d: payload.direction,
      x: encodeValue(payload.value),
      i: payload.id,
    };
    const body = Buffer.from(JSON.stringify(wire)).toString('base64url');
    return `${body}.${this.tag(body)}`;
  }

  /** The position a cursor holds, or a ValidationException on `cursor`; never anything else. */
  decode(raw: string, expected: CursorExpectation): CursorPayload {
    if (typeof raw !== 'string' || raw.length > MAX_CURSOR_LENGTH) throw invalidCursor();
    const dot = raw.indexOf('.');
    if (dot <= 0) throw invalidCursor();
    const body = raw.slice(0, dot);
    if (!this.hasValidTag(body, raw.slice(dot + 1))) throw invalidCursor();

    const wire = parseWire(body);
    if (
      !wire ||
      wire.s !== expected.scope ||
      wire.k !== expected.field ||
      wire.d !== expected.direction ||
      typeof wire.i !== 'string' ||
      !UUID.test(wire.i)
    ) {
      throw invalidCursor();
    }
    const value = decodeValue(wire.x, expected.type);
    if (value === undefined) throw invalidCursor();
    return { scope: wire.s, field: wire.k, direction: wire.d, value, id: wire.i };
  }

  private tag(body: string): string {
    return createHmac('sha256', this.key).update(body).digest().subarray(0, TAG_BYTES).toString('base64url');
  }

  private hasValidTag(body: string, tag: string): boolean {
    // Compares the canonical text of the tag, so a lenient base64 decoder cannot accept a variant spelling.
    const expected = Buffer.from(this.tag(body));
    const actual = Buffer.from(tag);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}

function encodeValue(value: SortValue): string | number {
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) throw new Error('Cannot encode a cursor for an invalid Date');
    return value.toISOString();
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    throw new Error(`Cannot encode a cursor for the non-finite number ${value}`);
  }
  return value;
}

function parseWire(body: string): WireCursor | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const wire = parsed as Partial<Record<keyof WireCursor, unknown>>;
  if (wire.v !== VERSION || (wire.d !== 'asc' && wire.d !== 'desc')) return undefined;
  if (typeof wire.s !== 'string' || typeof wire.k !== 'string') return undefined;
  return wire as WireCursor;
}

function decodeValue(x: unknown, type: SortType): SortValue | undefined {
  switch (type) {
    case 'string':
      return typeof x === 'string' ? x : undefined;
    case 'number':
      return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
    case 'date': {
      if (typeof x !== 'string' || !ISO_DATE.test(x)) return undefined;
      const date = new Date(x);
      return Number.isNaN(date.getTime()) || date.toISOString() !== x ? undefined : date;
    }
  }
}
