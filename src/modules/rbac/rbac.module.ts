import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AssignmentRepository } from './assignments/assignment.repository';
import { AssignmentService } from './assignments/assignment.service';
import { AssignmentsController } from './assignments/assignments.controller';
import { GrantStore } from './decision/grant.store';
import { PermissionGuard } from './decision/permission.guard';
import { PermissionService } from './decision/permission.service';
import { Department } from './departments/department.entity';
import { DepartmentRepository } from './departments/department.repository';
import { DepartmentsController } from './departments/departments.controller';
import { DepartmentsService } from './departments/departments.service';
import { PermissionCatalog } from './permission-catalog.service';
import { RbacController } from './rbac.controller';
import { RbacProvisioner } from './roles/rbac-provisioner';
import { RoleRepository } from './roles/role.repository';
import { RoleService } from './roles/role.service';
import { RolesController } from './roles/roles.controller';
import { Role, RoleAssignment, RolePermission } from './roles/role.entity';

/** Departments, roles, assignments and the permission decision every module uses (global: PermissionService). */
@Global()
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([Department, Role, RolePermission, RoleAssignment])],
  controllers: [RbacController, DepartmentsController, RolesController, AssignmentsController],
  providers: [
    GrantStore,
    PermissionService,
    PermissionGuard,
    PermissionCatalog,
    RbacProvisioner,
    DepartmentRepository,
    DepartmentsService,
    RoleRepository,
    RoleService,
    AssignmentRepository,
    AssignmentService,
  ],
  exports: [GrantStore, PermissionService, PermissionGuard, PermissionCatalog, RbacProvisioner],
})
export class RbacModule {}
