import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, IsUUID, Length, ValidateIf } from 'class-validator';
import { trim } from '../../../core/http/transforms';
import { PageQueryDto } from '../../../core/pagination/page-query.dto';
import type { Department } from './department.entity';

export class DepartmentDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** The parent department; null for a root department. */
  @ApiProperty({ type: String, format: 'uuid', nullable: true })
  parentId: string | null;
  /** @example Sales */
  name: string;
  /**
   * Ids from the root down to this department: every department whose path starts with this one is inside it.
   * @example /019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88/
   */
  path: string;
  /** Number of ancestors: 0 for a root department. */
  @ApiProperty({ type: 'integer', example: 0 })
  depth: number;
  createdAt: Date;
  updatedAt: Date;

  static from(department: Department): DepartmentDto {
    const { id, parentId, name, path, depth, createdAt, updatedAt } = department;
    return Object.assign(new DepartmentDto(), { id, parentId, name, path, depth, createdAt, updatedAt });
  }
}

/** A department with the departments below it. */
export class DepartmentTreeNodeDto {
  /** @example 019ac2f0-5b7a-7c3e-9a51-6f1d0e2b4c88 */
  id: string;
  /** @example Sales */
  name: string;
  @ApiProperty({ type: () => [DepartmentTreeNodeDto] })
  children: DepartmentTreeNodeDto[];
}

export class DepartmentIdParams {
  @IsUUID()
  id: string;
}

export class ListDepartmentsQueryDto extends PageQueryDto {
  /** Only the direct children of this department. */
  @IsOptional()
  @IsUUID()
  parentId?: string;
}

export class CreateDepartmentDto {
  /** Unique among its siblings (case-insensitive). @example Sales */
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name: string;

  /**
   * The parent department. Omit it for a root department, which needs departments:create organization-wide;
   * a child needs departments:create covering the parent.
   */
  @IsOptional()
  @IsUUID()
  parentId?: string;
}

export class UpdateDepartmentDto {
  /** Unique among its siblings (case-insensitive). @example Inside sales */
  // Optional but not nullable: IsOptional would let null through to a NOT NULL column (a 500).
  @ValidateIf((_, value) => value !== undefined)
  @Transform(trim)
  @IsString()
  @Length(1, 200)
  name?: string;

  /**
   * Move the department (with everything below it) under this one; null moves it to the root level, which
   * needs departments:create organization-wide. Moving needs departments:create covering the new parent.
   */
  @ApiPropertyOptional({ type: String, format: 'uuid', nullable: true })
  @IsOptional()
  @IsUUID()
  parentId?: string | null;
}

export class DeleteDepartmentQueryDto {
  /**
   * Where the contents go: the children (with their subtrees), members and role assignments of the deleted
   * department move to this department of the same organization, outside the deleted subtree. Without it,
   * deleting a department that is not empty is a 409 listing what it holds.
   */
  @IsOptional()
  @IsUUID()
  moveTo?: string;
}
