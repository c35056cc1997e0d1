/*
 * A small validator for the OpenAPI 3.0 schema subset @nestjs/swagger emits: $ref, type, nullable, enum,
 * required, properties, additionalProperties, items, min/max(Length|Items|imum), exclusive bounds (3.0
 * booleans), multipleOf, uniqueItems, pattern, formats (date-time, date, uuid, email: loosely), allOf,
 * oneOf, anyOf, not. Not a general JSON Schema implementation: enough to check responses against the
 * document and to drive request generators from it.
 *
 * Strict mode (for checking responses): an object whose schema declares `properties` and says nothing
 * about `additionalProperties` may not carry other keys, so undocumented fields are reported. Properties
 * declared by allOf branches, and by the schema around a oneOf/anyOf, count as declared.
 */

export interface Schema {
  $ref?: string;
  type?: 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object';
  nullable?: boolean;
  enum?: unknown[];
  format?: string;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean | number;
  exclusiveMaximum?: boolean | number;
  multipleOf?: number;
  items?: Schema;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  not?: Schema;
  default?: unknown;
  example?: unknown;
  description?: string;
}

export interface SchemaError {
  /** JSON path of the offending value, `$` being the root. */
  path: string;
  message: string;
}

export interface ValidateOptions {
  /** Report keys an object schema does not declare (unless it allows additional properties). */
  strict?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;

/** Checks a string against a format loosely; unknown formats pass. */
export function matchesFormat(format: string, value: string): boolean {
  switch (format) {
    case 'uuid':
      return UUID.test(value);
    case 'date-time':
      return DATE_TIME.test(value) && !Number.isNaN(Date.parse(value));
    case 'date':
      return DATE.test(value) && !Number.isNaN(Date.parse(value));
    case 'email':
      return EMAIL.test(value);
    default:
      return true;
  }
}

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

function hasType(type: NonNullable<Schema['type']>, value: unknown): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'string':
    case 'boolean':
      return typeof value === type;
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return (
    ka.length === kb.length &&
    ka.every((k) => deepEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
  );
}

function codePoints(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

function child(path: string, key: string | number): string {
  return typeof key === 'number'
    ? `${path}[${key}]`
    : /^[A-Za-z_$][\w$]*$/.test(key)
      ? `${path}.${key}`
      : `${path}[${JSON.stringify(key)}]`;
}

/** The components of one OpenAPI document, for resolving `$ref`s and validating values. */
export class OpenApiSchemas {
  constructor(private readonly root: { components?: { schemas?: Record<string, Schema> } }) {}

  /** Follows `$ref`s (JSON pointers into the document) until a schema without one. */
  resolve(schema: Schema): Schema {
    let current = schema;
    for (let hops = 0; current.$ref !== undefined; hops++) {
      if (hops > 32) throw new Error(`$ref cycle at ${current.$ref}`);
      current = this.pointer(current.$ref);
    }
    return current;
  }

  private pointer(ref: string): Schema {
    if (!ref.startsWith('#/')) throw new Error(`unsupported $ref ${ref}`);
    let node: unknown = this.root;
    for (const raw of ref.slice(2).split('/')) {
      const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
      node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
      if (node === undefined) throw new Error(`unresolvable $ref ${ref}`);
    }
    return node as Schema;
  }

  /**
   * The schema with `$ref` resolved and its allOf branches folded in (properties merged, required united),
   * which is how nestjs/swagger uses allOf (page envelopes, nullable references).
   */
  flatten(schema: Schema): Schema {
    const resolved = this.resolve(schema);
    if (!resolved.allOf?.length) return resolved;
    const { allOf, ...own } = resolved;
    let merged: Schema = { ...own };
    for (const branch of allOf) {
      const flat = this.flatten(branch);
      const properties = { ...merged.properties };
      for (const [key, value] of Object.entries(flat.properties ?? {})) {
        properties[key] = properties[key] ? { allOf: [properties[key], value] } : value;
      }
      const { nullable: _ignored, ...rest } = flat;
      merged = {
        ...rest,
        ...merged,
        type: merged.type ?? flat.type,
        properties: Object.keys(properties).length ? properties : undefined,
        required: [...new Set([...(merged.required ?? []), ...(flat.required ?? [])])],
        additionalProperties:
          merged.additionalProperties === false || flat.additionalProperties === false
            ? false
            : (merged.additionalProperties ?? flat.additionalProperties),
      };
      if (!merged.properties) delete merged.properties;
      if (merged.additionalProperties === undefined) delete merged.additionalProperties;
    }
    return merged;
  }

  /** Every way `value` fails `schema`; empty when it conforms. */
  validate(schema: Schema, value: unknown, options: ValidateOptions = {}): SchemaError[] {
    const errors: SchemaError[] = [];
    this.check(schema, value, '$', options, new Set(), errors);
    return errors;
  }

  private check(
    original: Schema,
    value: unknown,
    path: string,
    options: ValidateOptions,
    declaredAround: ReadonlySet<string>,
    errors: SchemaError[],
  ): void {
    const schema = this.flatten(original);
    if (value === null && (schema.nullable === true || schema.enum?.includes(null))) return;
    if (schema.type !== undefined && !hasType(schema.type, value)) {
      errors.push({
        path,
        message: `expected ${schema.type}${schema.nullable ? ' or null' : ''}, got ${typeOf(value)}`,
      });
      return;
    }
    if (schema.type === undefined && value === null && !schema.oneOf && !schema.anyOf && schema.enum === undefined) {
      // No type: anything goes, except that an undeclared null is still a null (OpenAPI 3.0: nullable).
      if (schema.properties || schema.items) errors.push({ path, message: 'null is not allowed (not nullable)' });
      return;
    }
    if (schema.enum && !schema.enum.some((allowed) => deepEqual(allowed, value))) {
      errors.push({ path, message: `${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}` });
    }
    if (typeof value === 'string') this.checkString(schema, value, path, errors);
    if (typeof value === 'number') this.checkNumber(schema, value, path, errors);
    if (Array.isArray(value)) this.checkArray(schema, value, path, options, errors);
    else if (typeof value === 'object' && value !== null) {
      this.checkObject(schema, value as Record<string, unknown>, path, options, declaredAround, errors);
    }
    const declaredHere = new Set([...declaredAround, ...Object.keys(schema.properties ?? {})]);
    if (schema.oneOf) {
      const passing = schema.oneOf.filter((branch) => this.quiet(branch, value, path, options, declaredHere));
      if (passing.length !== 1) {
        const detail = schema.oneOf
          .map((branch, i) => {
            const branchErrors: SchemaError[] = [];
            this.check(branch, value, path, options, declaredHere, branchErrors);
            return `#${i}${branch.$ref ? ` (${branch.$ref.split('/').pop()})` : ''}: ${branchErrors.map((e) => `${e.path} ${e.message}`).join('; ') || 'matches'}`;
          })
          .join(' | ');
        errors.push({ path, message: `matches ${passing.length} oneOf branches, expected exactly 1 [${detail}]` });
      }
    }
    if (schema.anyOf && !schema.anyOf.some((branch) => this.quiet(branch, value, path, options, declaredHere))) {
      errors.push({ path, message: 'matches no anyOf branch' });
    }
    if (schema.not && this.quiet(schema.not, value, path, options, declaredHere)) {
      errors.push({ path, message: 'matches the `not` schema' });
    }
  }

  private quiet(
    schema: Schema,
    value: unknown,
    path: string,
    options: ValidateOptions,
    declared: ReadonlySet<string>,
  ): boolean {
    const errors: SchemaError[] = [];
    this.check(schema, value, path, options, declared, errors);
    return errors.length === 0;
  }

  private checkString(schema: Schema, value: string, path: string, errors: SchemaError[]): void {
    const length = codePoints(value);
    if (schema.minLength !== undefined && length < schema.minLength) {
      errors.push({ path, message: `shorter than ${schema.minLength}` });
    }
    if (schema.maxLength !== undefined && length > schema.maxLength) {
      errors.push({ path, message: `longer than ${schema.maxLength}` });
    }
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(value)) {
      errors.push({ path, message: `does not match /${schema.pattern}/` });
    }
    if (schema.format !== undefined && !matchesFormat(schema.format, value)) {
      errors.push({ path, message: `${JSON.stringify(value.slice(0, 80))} is not a ${schema.format}` });
    }
  }

  private checkNumber(schema: Schema, value: number, path: string, errors: SchemaError[]): void {
    if (schema.minimum !== undefined) {
      const exclusive = schema.exclusiveMinimum === true;
      if (exclusive ? value <= schema.minimum : value < schema.minimum) {
        errors.push({ path, message: `below the minimum ${schema.minimum}` });
      }
    }
    if (typeof schema.exclusiveMinimum === 'number' && value <= schema.exclusiveMinimum) {
      errors.push({ path, message: `not above ${schema.exclusiveMinimum}` });
    }
    if (schema.maximum !== undefined) {
      const exclusive = schema.exclusiveMaximum === true;
      if (exclusive ? value >= schema.maximum : value > schema.maximum) {
        errors.push({ path, message: `above the maximum ${schema.maximum}` });
      }
    }
    if (typeof schema.exclusiveMaximum === 'number' && value >= schema.exclusiveMaximum) {
      errors.push({ path, message: `not below ${schema.exclusiveMaximum}` });
    }
    if (schema.multipleOf !== undefined && !Number.isInteger(value / schema.multipleOf)) {
      errors.push({ path, message: `not a multiple of ${schema.multipleOf}` });
    }
  }

  private checkArray(
    schema: Schema,
    value: unknown[],
    path: string,
    options: ValidateOptions,
    errors: SchemaError[],
  ): void {
    if (schema.minItems !== undefined && value.length < schema.minItems) {
      errors.push({ path, message: `fewer than ${schema.minItems} items` });
    }
    if (schema.maxItems !== undefined && value.length > schema.maxItems) {
      errors.push({ path, message: `more than ${schema.maxItems} items` });
    }
    if (schema.uniqueItems && value.some((item, i) => value.findIndex((other) => deepEqual(other, item)) !== i)) {
      errors.push({ path, message: 'items are not unique' });
    }
    if (schema.items) {
      const items = schema.items;
      value.forEach((item, i) => this.check(items, item, child(path, i), options, new Set(), errors));
    }
  }

  private checkObject(
    schema: Schema,
    value: Record<string, unknown>,
    path: string,
    options: ValidateOptions,
    declaredAround: ReadonlySet<string>,
    errors: SchemaError[],
  ): void {
    for (const key of schema.required ?? []) {
      if (!Object.prototype.hasOwnProperty.call(value, key)) errors.push({ path, message: `missing required ${key}` });
    }
    const properties = schema.properties ?? {};
    for (const [key, item] of Object.entries(value)) {
      const declared = properties[key];
      if (declared) {
        this.check(declared, item, child(path, key), options, new Set(), errors);
      } else if (typeof schema.additionalProperties === 'object') {
        this.check(schema.additionalProperties, item, child(path, key), options, new Set(), errors);
      } else if (schema.additionalProperties === false) {
        errors.push({ path: child(path, key), message: 'is not allowed (additionalProperties: false)' });
      } else if (
        options.strict &&
        schema.additionalProperties === undefined &&
        schema.properties !== undefined &&
        !declaredAround.has(key)
      ) {
        errors.push({ path: child(path, key), message: 'is not documented' });
      }
    }
  }
}
