/**
 * Base of every feature's domain exception. Services throw these (never HTTP exceptions); the global
 * problem filter turns `status` and `code` into problem+json, with `code` as the problem type.
 */
export class AppException extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
    /** Extra members of the problem document (e.g. `allowed` transitions); must hold no secrets. */
    readonly extensions: Record<string, unknown> = {},
    /** Response headers that belong to the problem (WWW-Authenticate, Retry-After). */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export interface FieldError {
  field: string;
  message: string;
}

/** A request that failed validation; `errors` name each offending field. */
export class ValidationException extends AppException {
  constructor(
    readonly errors: FieldError[],
    message = 'The request has invalid fields.',
  ) {
    super('validation-failed', 400, message, { errors });
  }
}
