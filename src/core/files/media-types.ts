/**
 * The file types Atrium accepts as media. A type is decided from the bytes (see detect-type.ts), never from
 * the name or the client's content type; those only have to agree with it.
 */
export const MEDIA_TYPES = ['jpg', 'png', 'gif', 'pdf', 'docx', 'xlsx', 'mp4'] as const;
export type MediaType = (typeof MEDIA_TYPES)[number];

export interface MediaTypeInfo {
  mime: string;
  /** Lower-case file name extensions (without the dot) a client may use for this type. */
  extensions: readonly string[];
  /** Served inline (images only); everything else is an attachment. */
  inline: boolean;
  /** Decoded by sharp: the worker derives thumb/web renditions and records width/height. */
  image: boolean;
}

export const MEDIA_TYPE_INFO: Record<MediaType, MediaTypeInfo> = {
  jpg: { mime: 'image/jpeg', extensions: ['jpg', 'jpeg', 'jpe', 'jfif'], inline: true, image: true },
  png: { mime: 'image/png', extensions: ['png'], inline: true, image: true },
  gif: { mime: 'image/gif', extensions: ['gif'], inline: true, image: true },
  pdf: { mime: 'application/pdf', extensions: ['pdf'], inline: false, image: false },
  docx: {
    mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
    extensions: ['docx'],
    inline: false,
    image: false,
  },
  xlsx: {
    mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    extensions: ['xlsx'],
    inline: false,
    image: false,
  },
  mp4: { mime: 'video/mp4', extensions: ['mp4', 'm4v'], inline: false, image: false },
};

export function isMediaType(value: string): value is MediaType {
  return (MEDIA_TYPES as readonly string[]).includes(value);
}
