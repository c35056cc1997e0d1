import {
  Controller,
  createParamDecorator,
  Get,
  Headers,
  HttpCode,
  Post,
  Req,
  Res,
  StreamableFile,
  type ExecutionContext,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiHeader,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiProduces,
  ApiResponse,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Readable } from 'node:stream';
import { AuditedInService } from '../audit/audited.decorator';
import { ApiProblems } from '../../core/http/api-problems.decorator';
import { Public } from '../../core/http/public.decorator';
import { RequestTimeout } from '../../core/http/request-timeout';
import { LocalDiskStorage } from '../../core/storage/local-disk.storage';
import { ObjectNotFoundError, ObjectStorage } from '../../core/storage/object-storage';
import { StorageException, StorageExceptionCode } from '../../core/storage/storage.exception';

/** A link moves a whole media file; the default request timeout is sized for JSON calls. */
const TRANSFER_TIMEOUT_MS = 30 * 60 * 1000;

// The token is longer than Fastify's 100-character limit for a route parameter, so the routes take the rest
// of the path (a wildcard, which has no such limit); OpenAPI shows it as {path}.
const TOKEN_PARAM = ApiParam({
  name: 'path',
  description: 'The signed token of the link, exactly as in the URL the API handed out',
  schema: { type: 'string' },
});

/** The wildcard's value; a @Param('*') would also appear in OpenAPI as a second path parameter named "*". */
const LinkToken = createParamDecorator(
  (_: unknown, context: ExecutionContext): string =>
    context.switchToHttp().getRequest<FastifyRequest<{ Params: { '*'?: string } }>>().params['*'] ?? '',
);

/** A problem response with a description for these routes (the shared ones speak of accounts). */
const problem = (status: number, description: string) =>
  ApiResponse({
    status,
    description,
    content: { 'application/problem+json': { schema: { $ref: getSchemaPath('ProblemDocumentDto') } } },
  });
const LINK_FORGED = problem(
  403,
  'The link is forged, expired or made for the other operation (storage-link-invalid; `reason` says which)',
);
const LINK_GONE = problem(404, 'The object is gone (storage-object-not-found), or the local driver is not in use');

const BINARY = { schema: { type: 'string', format: 'binary' } };
const DOWNLOAD_HEADERS = {
  'Content-Type': { description: 'The type signed into the link', schema: { type: 'string' } },
  'Content-Disposition': {
    description: 'As signed into the link (inline or attachment, file name)',
    schema: { type: 'string' },
  },
  'Content-Length': { schema: { type: 'integer' } },
  'Cache-Control': { schema: { type: 'string', example: 'private, no-store' } },
  'X-Content-Type-Options': { schema: { type: 'string', example: 'nosniff' } },
  'Accept-Ranges': { schema: { type: 'string', example: 'bytes' } },
};

type ByteRange = { start: number; end: number };

/**
 * One `bytes=` range of RFC 9110 §14.1.2 against an object of `size` bytes. Anything else (several ranges,
 * other units, malformed) is ignored and the whole object is sent, as the RFC allows; null means that.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | null {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (!match[1] && !match[2])) return null;
  if (!match[1]) {
    const suffix = Number(match[2]);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  const end = match[2] ? Number(match[2]) : Infinity;
  if (end < start) return null;
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

/**
 * The one file part of a multipart upload, as a stream. busboy's cap is set just past the signed maximum:
 * at the cap it ends the stream early instead of failing it (a silently cut file), so the size guard must
 * see the byte past the maximum first. The link, not the server-wide media cap, decides the size.
 */
async function uploadedFile(request: FastifyRequest, maxBytes: number): Promise<{ body: Readable; type: string }> {
  if (!request.isMultipart()) {
    throw new StorageException(StorageExceptionCode.UploadNotMultipart, 'Send the file as multipart/form-data.');
  }
  const part = await request.file({ limits: { fileSize: maxBytes + 1 } });
  if (!part || part.fieldname !== 'file') {
    part?.file.resume();
    throw new StorageException(StorageExceptionCode.UploadMissingFile, 'The form has no file part named "file".');
  }
  return { body: part.file, type: part.mimetype };
}

/**
 * The local driver's presigned links (STORAGE_DRIVER=local): what S3 serves for presigned GET and POST URLs,
 * served by the API. The token is the credential; with another driver the routes answer 404.
 */
@ApiTags('storage')
@Controller('storage/local')
export class LocalStorageController {
  constructor(private readonly storage: ObjectStorage) {}

  @Get('*')
  @Public()
  @RequestTimeout(TRANSFER_TIMEOUT_MS)
  @ApiOperation({
    summary: 'Download through a signed link (local storage)',
    description:
      'The URL comes from the API (e.g. a media download link) and works without a token until it expires. ' +
      'Served with the Content-Type and Content-Disposition the link was signed with. One byte range ' +
      '(`Range: bytes=a-b`) is honoured; other Range forms get the whole file. Only while STORAGE_DRIVER=local; ' +
      'with MinIO/S3 the links point at the object store instead.',
  })
  @TOKEN_PARAM
  @ApiHeader({ name: 'Range', required: false, description: 'One range, e.g. `bytes=0-1023`' })
  @ApiProduces('application/octet-stream')
  @ApiOkResponse({
    description: 'The file',
    headers: DOWNLOAD_HEADERS,
    content: { 'application/octet-stream': BINARY },
  })
  @ApiResponse({
    status: 206,
    description: 'The requested range of the file',
    headers: { ...DOWNLOAD_HEADERS, 'Content-Range': { schema: { type: 'string', example: 'bytes 0-1023/4096' } } },
    content: { 'application/octet-stream': BINARY },
  })
  @ApiProblems(416)
  @problem(400, 'The link is malformed (storage-link-malformed)')
  @LINK_FORGED
  @LINK_GONE
  async download(
    @LinkToken() token: string,
    @Headers('range') rangeHeader: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const storage = this.localStorage();
    const file = await storage.resolveDownload(token);
    const range = parseByteRange(rangeHeader, file.size);
    if (range === 'unsatisfiable') {
      throw new StorageException(
        StorageExceptionCode.RangeNotSatisfiable,
        `The range is outside the file (${file.size} bytes).`,
        {},
        { 'Content-Range': `bytes */${file.size}` },
      );
    }
    const body = await storage.get(file.key, range ?? undefined).catch((error: unknown) => {
      throw error instanceof ObjectNotFoundError
        ? new StorageException(StorageExceptionCode.ObjectNotFound, 'The object no longer exists.')
        : error;
    });
    void reply
      .header('Content-Type', file.contentType)
      .header('Content-Disposition', file.contentDisposition)
      .header('Content-Length', String(range ? range.end - range.start + 1 : file.size))
      .header('Cache-Control', 'private, no-store')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Accept-Ranges', 'bytes');
    if (range) void reply.status(206).header('Content-Range', `bytes ${range.start}-${range.end}/${file.size}`);
    return new StreamableFile(body);
  }

  @Post('*')
  @Public()
  @HttpCode(204)
  @AuditedInService(
    'not here: the file lands under a key the media module reserved (quarantine); POST /media/uploads/:id/complete audits the media it becomes',
  )
  @RequestTimeout(TRANSFER_TIMEOUT_MS)
  @ApiOperation({
    summary: 'Upload through a signed link (local storage)',
    description:
      'The URL and form fields come from the API (e.g. POST /media/uploads); send every field, then the file ' +
      'as the part `file`, like a presigned S3 POST. The link fixes the object key and the allowed size: a ' +
      'larger file is refused with 413, a smaller one with 400, and neither leaves anything stored. Only ' +
      'while STORAGE_DRIVER=local.',
  })
  @TOKEN_PARAM
  @ApiConsumes('multipart/form-data')
  @ApiBody({
    schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
  })
  @ApiNoContentResponse({ description: 'Stored' })
  @ApiProblems(413, 415)
  @problem(400, 'The link is malformed, the file is under the signed minimum, or the form has no part `file`')
  @LINK_FORGED
  @LINK_GONE
  async upload(
    @LinkToken() token: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<void> {
    const storage = this.localStorage();
    const claims = storage.verifyUploadLink(token);
    try {
      const { body, type } = await uploadedFile(request, claims.maxBytes);
      await storage.receiveUpload(claims, body, type);
    } catch (error) {
      // A refusal mid-body leaves the rest unread; on a kept-alive connection the client would wait forever
      // to send it. Closing after the answer is what S3 does too.
      if (!request.raw.complete) void reply.header('Connection', 'close');
      throw error;
    }
  }

  private localStorage(): LocalDiskStorage {
    if (this.storage instanceof LocalDiskStorage) return this.storage;
    throw new StorageException(StorageExceptionCode.LocalLinksDisabled, 'Local storage links are not served here.');
  }
}
