import { int, optionalStr } from './env-var';

export const scannerEnv = {
  CLAMAV_HOST: optionalStr({ description: 'clamd host (TCP); unset together with CLAMAV_SOCKET = scanning off' }),
  CLAMAV_PORT: int({ default: '3310', min: 1, max: 65535, description: 'clamd TCP port' }),
  CLAMAV_SOCKET: optionalStr({ description: 'clamd unix socket path; used instead of CLAMAV_HOST when set' }),
  CLAMAV_TIMEOUT_MS: int({
    default: '60000',
    min: 100,
    max: 600000,
    description: 'Longest a scan may take (connect, stream, verdict); a timeout counts as not clean',
  }),
  CLAMAV_STREAM_MAX_BYTES: int({
    default: '1073741824',
    min: 1024,
    max: 4294967295,
    description:
      'clamd’s StreamMaxLength (set the same in clamd.conf, with AlertExceedsMax yes); every MEDIA_MAX_BYTES_* must stay below it',
  }),
};
