import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { GrantStore } from './decision/grant.store';
import { PermissionGuard } from './decision/permission.guard';
import { PermissionService } from './decision/permission.service';
import { Department } from './departments/department.entity';
import { PermissionCatalog } from './permission-catalog.service';
import { RbacController } from './rbac.controller';
import { RbacProvisioner } from './roles/rbac-provisioner';
import { Role, RoleAssignment, RolePermission } from './roles/role.entity';

/** Departments, roles, assignments and the permission decision every module uses (global: PermissionService). */
@Global()
@Module({
  imports: [DiscoveryModule, TypeOrmModule.forFeature([Department, Role, RolePermission, RoleAssignment])],
  controllers: [RbacController],
  providers: [GrantStore, PermissionService, PermissionGuard, PermissionCatalog, RbacProvisioner],
  exports: [GrantStore, PermissionService, PermissionGuard, PermissionCatalog, RbacProvisioner],
})
export class RbacModule {}
