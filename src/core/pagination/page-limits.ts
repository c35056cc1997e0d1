import type { AppConfig } from '../../config/app.config';

/** The configured page sizes (PAGINATION_DEFAULT_LIMIT, PAGINATION_MAX_LIMIT); injectable by class. */
export class PageLimits {
  constructor(
    readonly defaultLimit: number,
    readonly maxLimit: number,
  ) {
    if (!Number.isInteger(defaultLimit) || !Number.isInteger(maxLimit) || defaultLimit < 1 || defaultLimit > maxLimit) {
      throw new Error(`Invalid page limits: default ${defaultLimit}, max ${maxLimit}`);
    }
  }

  static fromConfig(config: AppConfig): PageLimits {
    return new PageLimits(config.pagination.defaultLimit, config.pagination.maxLimit);
  }

  /** Same wording as class-validator's @Max, so every limit error reads alike. */
  tooLargeMessage(property = 'limit'): string {
    return `${property} must not be greater than ${this.maxLimit}`;
  }
}

// Class-validator instantiates constraints itself, outside Nest's injector, so the maximum a DTO checks
// against is handed over here once at startup (PaginationModule.onModuleInit). The last app initialised in
// a process wins; Paginator.resolve checks again with its injected limits, so that never lets one through.
let active: PageLimits | undefined;

export function activatePageLimits(limits: PageLimits): void {
  active = limits;
}

/** Undefined until a PaginationModule has started. */
export function activePageLimits(): PageLimits | undefined {
  return active;
}
