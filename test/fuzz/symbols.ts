import fc from 'fast-check';

/*
 * Generated requests are symbolic: real ids and very large values stay placeholders until the request is
 * sent. Ids resolve against the fuzz context of the moment (which may have been rebuilt since), and
 * counterexamples print as `ref(customer#1)` or `huge("x", 1100000)` instead of megabytes of text.
 */

/** The kinds of real objects the fuzz context creates. */
export const FIXTURE_KINDS = [
  'customer',
  'post',
  'publishedPost',
  'department',
  'role',
  'member',
  'owner',
  'assignment',
  'session',
  'auditLog',
  'customerImport',
  'ping',
  'activity',
  'media',
  'upload',
] as const;
export type FixtureKind = (typeof FIXTURE_KINDS)[number];

/** Which property of a fixture a reference stands for: its id, or (for posts and the organization) a slug. */
export type FixtureField = 'id' | 'slug' | 'orgSlug';

/** A placeholder for the id (or slug) of the `index`-th fixture of a kind. */
export class FixtureRef {
  constructor(
    readonly kind: FixtureKind,
    readonly index: number,
    readonly field: FixtureField = 'id',
  ) {}

  [fc.toStringMethod](): string {
    return `ref(${this.kind}#${this.index}${this.field === 'id' ? '' : `.${this.field}`})`;
  }
}

/** A placeholder for the last `page.nextCursor` an operation answered (a junk cursor before the first). */
export class CursorRef {
  constructor(readonly operation: string) {}

  [fc.toStringMethod](): string {
    return `cursor(${this.operation})`;
  }
}

/** A placeholder for a long string: `char` repeated `length` times. */
export class HugeString {
  constructor(
    readonly char: string,
    readonly length: number,
  ) {}

  [fc.toStringMethod](): string {
    return `huge(${JSON.stringify(this.char)}, ${this.length})`;
  }
}

/** A placeholder for objects nested `depth` levels deep: `{ a: { a: … { a: 1 } } }`. */
export class DeepObject {
  constructor(readonly depth: number) {}

  [fc.toStringMethod](): string {
    return `deep(${this.depth})`;
  }
}

/** A path parameter sent exactly as given, not percent-encoded: malformed escapes and the like. */
export class RawPathText {
  constructor(readonly text: string) {}

  [fc.toStringMethod](): string {
    return `raw(${JSON.stringify(this.text)})`;
  }
}

/** Replaces every placeholder in `value`, depth first; `lookup` resolves fixture and cursor references. */
export function materialize(value: unknown, lookup: (ref: FixtureRef | CursorRef) => string): unknown {
  if (value instanceof FixtureRef || value instanceof CursorRef) return lookup(value);
  if (value instanceof HugeString) return value.char.repeat(value.length);
  if (value instanceof DeepObject) {
    let nested: unknown = 1;
    for (let i = 0; i < value.depth; i++) nested = { a: nested };
    return nested;
  }
  if (Array.isArray(value)) return value.map((item) => materialize(item, lookup));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: keys such as __proto__ must stay own properties, as JSON.parse makes them.
      Object.defineProperty(out, key, {
        value: materialize(item, lookup),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

/** A short, readable rendering of a (materialized) value for failure messages: long strings are cut. */
export function preview(value: unknown, max = 2000): string {
  if (typeof value === 'string') return value.length > max ? `${value.slice(0, max)}…(${value.length} chars)` : value;
  const text = JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'string' && item.length > 200 ? `${item.slice(0, 60)}…(${item.length} chars)` : item,
  );
  if (text === undefined) return String(value);
  return text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text;
}
