import { AppException } from '../../core/exceptions/app.exception';

export enum RbacExceptionCode {
  PermissionDenied = 'permission-denied',
  NotFound = 'not-found',
  UnknownPermission = 'unknown-permission',
  SystemRole = 'system-role-immutable',
  Escalation = 'privilege-escalation',
  LastOwner = 'last-owner',
  DepartmentCycle = 'department-cycle',
  DepartmentNotEmpty = 'department-not-empty',
  RoleInUse = 'role-in-use',
  Conflict = 'conflict',
}

const STATUS: Record<RbacExceptionCode, number> = {
  [RbacExceptionCode.PermissionDenied]: 403,
  [RbacExceptionCode.NotFound]: 404,
  [RbacExceptionCode.UnknownPermission]: 400,
  [RbacExceptionCode.SystemRole]: 409,
  [RbacExceptionCode.Escalation]: 403,
  [RbacExceptionCode.LastOwner]: 409,
  [RbacExceptionCode.DepartmentCycle]: 409,
  [RbacExceptionCode.DepartmentNotEmpty]: 409,
  [RbacExceptionCode.RoleInUse]: 409,
  [RbacExceptionCode.Conflict]: 409,
};

export class RbacException extends AppException {
  constructor(code: RbacExceptionCode, message: string, extensions: Record<string, unknown> = {}) {
    super(code, STATUS[code], message, extensions);
  }
}
