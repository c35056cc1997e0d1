import type { ObjectLiteral, SelectQueryBuilder } from 'typeorm';

/** Where one positional parameter of a compiled query comes from: a named parameter, or one element of it. */
interface Binding {
  name: string;
  /** Set for an element of a `:...name` list, which TypeORM spreads into one parameter per element. */
  element?: number;
}

/**
 * A page query as TypeORM compiled it once, ready to be bound to the parameters of any request of the same
 * shape: the SQL text with its `$n` placeholders, and which named parameter each `$n` takes.
 */
export interface CompiledPageQuery {
  /** The SQL up to and including `LIMIT ` (the count is the only literal TypeORM puts into a page query). */
  readonly sqlBeforeLimitCount: string;
  readonly bindings: readonly Binding[];
}

/** Stand-ins for the parameter values while TypeORM numbers the placeholders; recognised by identity. */
class WholeParameter {
  constructor(readonly name: string) {}
}
class ElementParameter {
  constructor(
    readonly name: string,
    readonly element: number,
  ) {}
}

/**
 * Compiles `qb`, a keyset page query built by `applyKeysetPage` whose LIMIT is `limitCount`, into SQL and
 * parameter bindings. The SQL is the text `qb.getQueryAndParameters()` produces, exactly: the driver numbers
 * the placeholders over stand-ins of the real values (same names, same list lengths), so it makes the same
 * text. Returns undefined for a query this cannot reproduce exactly (say, a function-valued parameter, which
 * TypeORM inlines into the SQL); run that one through the query builder.
 */
export function compilePageQuery<T extends ObjectLiteral>(
  qb: SelectQueryBuilder<T>,
  limitCount: number,
): CompiledPageQuery | undefined {
  const named = qb.getQuery();
  const parameters = qb.getParameters();
  const standIns: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) {
    if (typeof value === 'function') return undefined;
    standIns[name] = Array.isArray(value)
      ? Object.assign(
          value.map((_, element) => new ElementParameter(name, element)),
          { standIn: new WholeParameter(name) },
        )
      : new WholeParameter(name);
  }
  const [sql, positional] = qb.dataSource.driver.escapeQueryWithParameters(named, standIns);
  const bindings: Binding[] = [];
  for (const standIn of positional as unknown[]) {
    if (standIn instanceof WholeParameter) bindings.push({ name: standIn.name });
    else if (standIn instanceof ElementParameter) bindings.push({ name: standIn.name, element: standIn.element });
    else if (Array.isArray(standIn) && (standIn as { standIn?: unknown }).standIn instanceof WholeParameter) {
      bindings.push({ name: (standIn as unknown as { standIn: WholeParameter }).standIn.name });
    } else return undefined;
  }
  const limitClause = ` LIMIT ${limitCount}`;
  if (!sql.endsWith(limitClause)) return undefined;
  return { sqlBeforeLimitCount: sql.slice(0, sql.length - limitClause.length + ' LIMIT '.length), bindings };
}

/**
 * The SQL and positional parameters of `compiled` for one request: `parameters` by name, as the query builder
 * would have been given them, and the LIMIT count.
 */
export function bindPageQuery(
  compiled: CompiledPageQuery,
  parameters: Readonly<Record<string, unknown>>,
  limitCount: number,
): [string, unknown[]] {
  const values = compiled.bindings.map(({ name, element }) => {
    if (!Object.hasOwn(parameters, name)) throw new Error(`Compiled page query: no value for parameter "${name}"`);
    const value = parameters[name];
    return element === undefined ? value : (value as readonly unknown[])[element];
  });
  // An integer by construction (Paginator.resolve checks it); never text from the request.
  if (!Number.isSafeInteger(limitCount)) throw new Error(`Compiled page query: invalid LIMIT ${limitCount}`);
  return [compiled.sqlBeforeLimitCount + String(limitCount), values];
}

/**
 * Compiled page queries by shape (the SQL fragments a request combines, never its values). Bounded: past
 * `maxShapes` the oldest shape is dropped, so unusual combinations of filters cannot grow it without limit.
 */
export class PageQueryCache {
  private readonly shapes = new Map<string, CompiledPageQuery | null>();

  constructor(private readonly maxShapes = 500) {}

  /** The compiled query of `shape`; null when it cannot be compiled (use the query builder), undefined if unknown. */
  get(shape: string): CompiledPageQuery | null | undefined {
    return this.shapes.get(shape);
  }

  set(shape: string, compiled: CompiledPageQuery | null): void {
    if (this.shapes.size >= this.maxShapes) {
      const oldest = this.shapes.keys().next();
      if (!oldest.done) this.shapes.delete(oldest.value);
    }
    this.shapes.set(shape, compiled);
  }

  get size(): number {
    return this.shapes.size;
  }
}
