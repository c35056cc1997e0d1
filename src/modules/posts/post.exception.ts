import { AppException } from '../../core/exceptions/app.exception';

export enum PostExceptionCode {
  /** Another live post of the organization has this slug (create, update). */
  SlugTaken = 'post-slug-taken',
  /** If-Match names a version other than the current one. */
  VersionMismatch = 'version-mismatch',
  /** The lifecycle action is not allowed from the post's status; `allowed` names those that are. */
  IllegalTransition = 'illegal-transition',
}

const STATUS: Record<PostExceptionCode, number> = {
  [PostExceptionCode.SlugTaken]: 409,
  [PostExceptionCode.VersionMismatch]: 412,
  [PostExceptionCode.IllegalTransition]: 409,
};

/**
 * Post errors. A missing, deleted, foreign or unreadable post is RbacException not-found (the same answer
 * PermissionService.assertAllowed gives outside the read scope), so none can be told apart.
 */
export class PostException extends AppException {
  constructor(code: PostExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, STATUS[code], message, extensions);
  }
}
