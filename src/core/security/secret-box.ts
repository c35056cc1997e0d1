import { Injectable } from '@nestjs/common';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { AppConfig } from '../../config/app.config';

const VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
// 96-bit random IVs are GCM's native size; the chance of a repeat stays negligible for far more seals than
// this application will ever make under one key.
const IV_BYTES = 12;
const TAG_BYTES = 16;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** A sealed value that cannot be opened: wrong key, wrong AAD, tampered with, or not a sealed value at all. */
export class SecretBoxError extends Error {
  constructor() {
    // One message for every cause, so the error reveals nothing about which check failed.
    super('sealed value could not be opened');
    this.name = 'SecretBoxError';
  }
}

/**
 * Authenticated encryption for secrets kept at rest (TOTP secrets): AES-256-GCM with a random IV, written as
 * `v1.<iv>.<tag>.<ciphertext>` in base64url. The version prefix leaves room to rotate the key or algorithm.
 *
 * The optional AAD is authenticated but not stored: pass the owner's id, and a value copied into another
 * owner's row no longer opens.
 */
@Injectable()
export class SecretBox {
  private readonly key: Buffer;

  constructor(config: AppConfig) {
    if (config.auth.totpEncryptionKey.length !== KEY_BYTES) {
      throw new Error(`SecretBox needs a ${KEY_BYTES}-byte key (TOTP_ENCRYPTION_KEY)`);
    }
    this.key = config.auth.totpEncryptionKey;
  }

  seal(plaintext: string, aad?: string): string {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
    if (aad !== undefined) cipher.setAAD(Buffer.from(aad, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [VERSION, ...[iv, tag, ciphertext].map((part) => part.toString('base64url'))].join('.');
  }

  /** Throws SecretBoxError unless `sealed` came from `seal` with this key and the same AAD. */
  open(sealed: string, aad?: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 4 || parts[0] !== VERSION || !parts.slice(1).every((part) => BASE64URL.test(part))) {
      throw new SecretBoxError();
    }
    const [iv, tag, ciphertext] = parts.slice(1).map((part) => Buffer.from(part, 'base64url'));
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new SecretBoxError();
    try {
      const decipher = createDecipheriv(ALGORITHM, this.key, iv, { authTagLength: TAG_BYTES });
      if (aad !== undefined) decipher.setAAD(Buffer.from(aad, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError();
    }
  }
}
