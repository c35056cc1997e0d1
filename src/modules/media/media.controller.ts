import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { RequestTimeout } from '../../core/http/request-timeout';
import { ApiPageResponse, type Page } from '../../core/pagination/page.dto';
import { ApiSortQuery } from '../../core/pagination/page-query.dto';
import { AuditedInService } from '../audit/audited.decorator';
import type { AuthUser } from '../auth/auth-user';
import { CurrentUser } from '../auth/auth.decorators';
import { RequirePermission } from '../rbac/decision/require-permission.decorator';
import {
  CreateUploadDto,
  DeleteMediaQueryDto,
  ListMediaQueryDto,
  MediaDto,
  MediaIdParams,
  MediaUrlDto,
  MediaUrlQueryDto,
  UploadMediaBodyDto,
  UploadMediaQueryDto,
  UploadPolicyDto,
} from './media.dto';
import { MediaException, MediaExceptionCode } from './media.exception';
import { MEDIA_LIST } from './media.repository';
import { MediaService } from './media.service';

const AUDITED_HOW = 'MediaService, in the change transaction (before/after)';

/** Uploads of hundreds of MB take longer than the default request timeout. */
const UPLOAD_TIMEOUT_MS = 30 * 60 * 1000;

@ApiTags('media')
@ApiProblems(401)
@Controller('media')
export class MediaController {
  constructor(private readonly media: MediaService) {}

  @Get()
  @RequirePermission('media:read')
  @ApiOperation({
    summary: 'List media',
    description:
      'Media in departments where the caller holds media:read (organization-level media only with an ' +
      'organization-wide grant), newest first. Filters combine with AND.',
  })
  @ApiSortQuery(MEDIA_LIST)
  @ApiPageResponse(MediaDto)
  @ApiProblems(400)
  list(@Query() query: ListMediaQueryDto, @CurrentUser() caller: AuthUser): Promise<Page<MediaDto>> {
    return this.media.list(caller, query);
  }

  @Post()
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('media:create')
  @RequestTimeout(UPLOAD_TIMEOUT_MS)
  @ApiOperation({
    summary: 'Upload a file',
    description:
      'multipart/form-data with one file part named `file`; streamed to storage, never held in memory. The ' +
      'type is detected from the bytes (jpg, png, gif, pdf, docx, xlsx, mp4; docx/xlsx from the archive’s ' +
      'content, which is also checked for zip bombs); a file name extension or part Content-Type that ' +
      'disagrees, or any other type, is a 415 and nothing is stored. Each type has its own size limit ' +
      '(MEDIA_MAX_BYTES_*; 413). EXIF/XMP/text metadata (GPS!) is stripped from JPEG and PNG on the way in. ' +
      'The media is `pending` until the worker scanned it (or `skipped` when scanning is off).',
  })
  @ApiConsumes('multipart/form-data')
  @ApiBody({ type: UploadMediaBodyDto })
  @ApiCreatedResponse({ type: MediaDto })
  @ApiProblems(400, 403, 404, 413, 415)
  async upload(
    @Query() query: UploadMediaQueryDto,
    @Req() request: FastifyRequest,
    @CurrentUser() caller: AuthUser,
  ): Promise<MediaDto> {
    if (!request.isMultipart()) {
      throw new MediaException(MediaExceptionCode.NoFile, 'Send the file as multipart/form-data, field `file`.', {
        field: 'file',
      });
    }
    const part = await request.file();
    if (!part || part.fieldname !== 'file') {
      part?.file.resume();
      throw new MediaException(MediaExceptionCode.NoFile, 'The form has no file part named `file`.', {
        field: 'file',
      });
    }
    try {
      const media = await this.media.upload(caller, query.departmentId ?? null, {
        stream: part.file,
        filename: part.filename,
        contentType: part.mimetype,
      });
      return MediaDto.from(media);
    } finally {
      // Whatever was not read (a refused upload) is drained, so the client gets the answer, not a reset.
      part.file.resume();
    }
  }

  @Post('uploads')
  @AuditedInService('MediaService.completeUpload: the media the upload becomes is audited when completed')
  @RequirePermission('media:create')
  @ApiOperation({
    summary: 'Start a direct upload to storage',
    description:
      'Returns a presigned POST policy into a quarantine area: the storage itself enforces the key and the ' +
      'size limit of the type the file name names. It expires after MEDIA_UPLOAD_TTL_SECONDS (default 5 ' +
      'minutes). Then call POST /media/uploads/:id/complete.',
  })
  @ApiCreatedResponse({ type: UploadPolicyDto })
  @ApiProblems(400, 403, 404, 415)
  createUpload(@Body() body: CreateUploadDto, @CurrentUser() caller: AuthUser): Promise<UploadPolicyDto> {
    return this.media.createUpload(caller, body);
  }

  @Post('uploads/:id/complete')
  @HttpCode(201)
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('media:create')
  @RequestTimeout(UPLOAD_TIMEOUT_MS)
  @ApiOperation({
    summary: 'Finish a direct upload',
    description:
      'Verifies the uploaded object’s size and true type exactly as POST /media does (415/413, and the ' +
      'quarantined object is removed), then promotes it to media (`pending` until scanned). Completing ' +
      'again returns the same media. 409 while the file has not arrived; 410 once the upload expired ' +
      'without it.',
  })
  @ApiCreatedResponse({ type: MediaDto })
  @ApiProblems(400, 403, 404, 409, 413, 415)
  async completeUpload(@Param() { id }: MediaIdParams, @CurrentUser() caller: AuthUser): Promise<MediaDto> {
    return MediaDto.from(await this.media.completeUpload(caller, id));
  }

  @Get(':id')
  @RequirePermission('media:read')
  @ApiOperation({ summary: 'One media file' })
  @ApiOkResponse({ type: MediaDto })
  @ApiProblems(400, 404)
  async get(@Param() { id }: MediaIdParams, @CurrentUser() caller: AuthUser): Promise<MediaDto> {
    return MediaDto.from(await this.media.get(caller, id));
  }

  @Get(':id/url')
  @RequirePermission('media:read')
  @ApiOperation({
    summary: 'A short-lived download URL',
    description:
      'A presigned GET (MEDIA_URL_TTL_SECONDS, default 5 minutes) served with Content-Disposition (inline ' +
      'for images, attachment otherwise) and X-Content-Type-Options: nosniff. 409 while the file waits for ' +
      'its scan or a rendition is not made yet, and for quarantined files (infected or not confirmed clean). ' +
      '`variant` thumb/web: EXIF-free WebP renditions of images.',
  })
  @ApiOkResponse({ type: MediaUrlDto })
  @ApiProblems(400, 404, 409)
  url(
    @Param() { id }: MediaIdParams,
    @Query() query: MediaUrlQueryDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<MediaUrlDto> {
    return this.media.url(caller, id, query.variant ?? 'original');
  }

  @Delete(':id')
  @HttpCode(204)
  @AuditedInService(AUDITED_HOW)
  @RequirePermission('media:delete')
  @ApiOperation({
    summary: 'Delete a media file',
    description:
      'Refused with 409 (naming the posts) while posts use it as their cover, unless force=true, which ' +
      'removes it from them (each post change audited). Its objects are removed from storage.',
  })
  @ApiNoContentResponse({ description: 'Deleted' })
  @ApiProblems(400, 404, 409)
  remove(
    @Param() { id }: MediaIdParams,
    @Query() query: DeleteMediaQueryDto,
    @CurrentUser() caller: AuthUser,
  ): Promise<void> {
    return this.media.remove(caller, id, query.force ?? false);
  }
}
