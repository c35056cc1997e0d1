import { optionalStr } from './env-var';

export const jwtEnv = {
  JWT_PRIVATE_KEY_FILE: optionalStr({ description: 'PEM file of the key that signs access tokens' }),
  JWT_PRIVATE_KEY: optionalStr({
    secret: true,
    description: 'Inline PEM private key (alternative to JWT_PRIVATE_KEY_FILE)',
  }),
  JWT_PUBLIC_KEYS_DIR: optionalStr({
    description:
      'Folder of PEM public keys still accepted for verification (key rotation); unset = only the signing key',
  }),
};
