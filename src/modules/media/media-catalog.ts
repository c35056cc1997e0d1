import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import type { EntityManager, Repository } from 'typeorm';
import { MEDIA_TYPE_INFO } from '../../core/files/media-types';
import { ValidationException } from '../../core/exceptions/app.exception';
import type { AuthUser } from '../auth/auth-user';
import { PermissionService } from '../rbac/decision/permission.service';
import { Media } from './media.entity';

/** Media lookups other modules need (posts' covers), without depending on the rest of the media module. */
@Injectable()
export class MediaCatalog {
  constructor(
    @InjectRepository(Media) private readonly media: Repository<Media>,
    private readonly permissions: PermissionService,
  ) {}

  /**
   * A post's cover must be an image of the caller's organization that the caller may read, and not
   * quarantined (a pending one is fine: it is cleared from the post if its scan fails). 400 naming `field`
   * otherwise; a foreign or unreadable id reads as missing. The row is share-locked so a concurrent delete
   * waits for this transaction and then sees the post using it.
   */
  async assertCover(caller: AuthUser, mediaId: string, manager: EntityManager, field = 'coverMediaId') {
    const media = await manager
      .getRepository(Media)
      .createQueryBuilder('m')
      .where('m.id = :mediaId AND m.organization_id = :organizationId', {
        mediaId,
        organizationId: caller.organizationId,
      })
      .setLock('pessimistic_read')
      .getOne();
    const readable = media && (await this.permissions.decide(caller, 'media:read', media.departmentId)).allowed;
    if (!media || !readable) throw new ValidationException([{ field, message: 'no such media' }]);
    if (!MEDIA_TYPE_INFO[media.type].image) {
      throw new ValidationException([{ field, message: `a cover must be an image (this media is ${media.type})` }]);
    }
    if (media.scanStatus === 'infected' || media.scanStatus === 'failed') {
      throw new ValidationException([{ field, message: 'this media is quarantined' }]);
    }
  }
}
