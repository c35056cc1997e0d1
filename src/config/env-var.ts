/**
 * Declarative environment variables: every setting has a parser, a default (or is required) and a
 * description, so validation, `.env.example` and the README table all come from one place.
 */
export type RawEnv = Record<string, string | undefined>;

export interface EnvVar<T> {
  description: string;
  /** Raw default; a function when it depends on NODE_ENV. Absent means required. */
  default?: string | ((env: RawEnv) => string);
  /** Value is never echoed back in error messages. */
  secret?: boolean;
  parse(raw: string): T;
}

/** Thrown for a bad setting; the message is one line naming the variable and the problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

type Opts<T> = Omit<EnvVar<T>, 'parse'>;

export function str(
  opts: Opts<string> & { pattern?: RegExp; patternHint?: string; minLength?: number },
): EnvVar<string> {
  return {
    ...opts,
    parse(raw) {
      if (opts.minLength !== undefined && raw.length < opts.minLength) {
        throw new Error(`must be at least ${opts.minLength} characters long`);
      }
      if (opts.pattern && !opts.pattern.test(raw))
        throw new Error(`must be ${opts.patternHint ?? `like ${opts.pattern}`}`);
      return raw;
    },
  };
}

/** Optional string: empty means "not set". */
export function optionalStr(opts: Omit<Opts<string | undefined>, 'default'>): EnvVar<string | undefined> {
  return { ...opts, default: '', parse: (raw) => (raw === '' ? undefined : raw) };
}

export function int(opts: Opts<number> & { min?: number; max?: number }): EnvVar<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = opts;
  return {
    ...opts,
    parse(raw) {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error('must be an integer');
      const value = Number(raw);
      if (value < min || value > max) throw new Error(`must be between ${min} and ${max}`);
      return value;
    },
  };
}

export function bool(opts: Opts<boolean>): EnvVar<boolean> {
  return {
    ...opts,
    parse(raw) {
      const v = raw.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(v)) return true;
      if (['false', '0', 'no', 'off'].includes(v)) return false;
      throw new Error('must be true or false');
    },
  };
}

export function oneOf<const T extends string>(values: readonly T[], opts: Opts<T>): EnvVar<T> {
  return {
    ...opts,
    parse(raw) {
      if (!(values as readonly string[]).includes(raw)) throw new Error(`must be one of ${values.join(', ')}`);
      return raw as T;
    },
  };
}

/** Comma-separated list; blank items are dropped. */
export function list(opts: Opts<string[]>): EnvVar<string[]> {
  return {
    ...opts,
    parse: (raw) =>
      raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
  };
}

export function url(opts: Opts<string> & { protocols: string[] }): EnvVar<string> {
  return {
    ...opts,
    parse(raw) {
      let parsed: URL;
      try {
        parsed = new URL(raw);
      } catch {
        throw new Error('must be a URL');
      }
      if (!opts.protocols.includes(parsed.protocol.replace(/:$/, ''))) {
        throw new Error(`must use ${opts.protocols.map((p) => `${p}://`).join(' or ')}`);
      }
      return raw;
    },
  };
}

export type EnvSchema = Record<string, EnvVar<unknown>>;
export type EnvValues<S extends EnvSchema> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

export function defaultOf(variable: EnvVar<unknown>, env: RawEnv): string | undefined {
  return typeof variable.default === 'function' ? variable.default(env) : variable.default;
}

/** Reads and validates every variable of the schema; the first problem becomes a one-line ConfigError. */
export function readEnv<S extends EnvSchema>(schema: S, env: RawEnv): EnvValues<S> {
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(schema)) {
    const given = env[name];
    const raw = given ?? defaultOf(variable, env);
    if (raw === undefined)
      throw new ConfigError(`Invalid configuration: ${name} is required (${variable.description})`);
    try {
      values[name] = variable.parse(raw);
    } catch (error) {
      const shown = variable.secret ? '' : ` (got "${raw.length > 60 ? `${raw.slice(0, 60)}…` : raw}")`;
      throw new ConfigError(`Invalid configuration: ${name} ${(error as Error).message}${shown}`);
    }
  }
  return values as EnvValues<S>;
}
