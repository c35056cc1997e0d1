import { Client as MinioClient } from 'minio';
import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { createTransport } from 'nodemailer';
import { startS3rver, type S3rverHandle } from './helpers/s3rver';
import { startSmtpCapture, type SmtpCapture } from './helpers/smtp-capture';

function minioFor(s3: S3rverHandle): MinioClient {
  return new MinioClient({
    endPoint: '127.0.0.1',
    port: s3.port,
    useSSL: false,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: 'us-east-1',
    pathStyle: true,
  });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe(startS3rver.name, () => {
  let s3: S3rverHandle;
  beforeAll(async () => {
    s3 = await startS3rver();
  });
  afterAll(async () => {
    await s3.close();
  });

  it('should listen on a free port of 127.0.0.1 with its bucket already created when started', async () => {
    expect(s3.port).toBeGreaterThan(0);
    expect(s3.endpoint).toBe(`http://127.0.0.1:${s3.port}`);
    await expect(minioFor(s3).bucketExists(s3.bucket)).resolves.toBe(true);
  });

  it('should return the uploaded bytes unchanged when an object is read back with minio', async () => {
    const client = minioFor(s3);
    // Every byte value, plus enough random data to span several chunks.
    const content = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(300_000)]);
    await client.putObject(s3.bucket, 'dir/object.bin', content, content.length, {
      'Content-Type': 'application/octet-stream',
    });

    const stat = await client.statObject(s3.bucket, 'dir/object.bin');
    expect(stat.size).toBe(content.length);
    const read = await readAll(await client.getObject(s3.bucket, 'dir/object.bin'));
    expect(read.equals(content)).toBe(true);
  });

  it('should start empty when another server is started', async () => {
    await minioFor(s3).putObject(s3.bucket, 'only-here.txt', Buffer.from('x'));
    const other = await startS3rver();
    try {
      expect(other.port).not.toBe(s3.port);
      await expect(minioFor(other).statObject(other.bucket, 'only-here.txt')).rejects.toMatchObject({
        code: 'NotFound',
      });
    } finally {
      await other.close();
    }
  });
});

describe(startSmtpCapture.name, () => {
  let smtp: SmtpCapture;
  beforeAll(async () => {
    smtp = await startSmtpCapture();
  });
  afterAll(async () => {
    await smtp.close();
  });

  function transport() {
    return createTransport({ host: smtp.host, port: smtp.port, secure: false, ignoreTLS: true });
  }

  it('should capture a mail sent with nodemailer with its envelope, subject and text when sent', async () => {
    const subject = `Welcome ${randomBytes(4).toString('hex')}`;
    await transport().sendMail({
      from: 'Atrium <no-reply@atrium.test>',
      to: 'alice@example.test',
      subject,
      text: 'Hello Alice,\nyour code is 123456.',
    });

    const mail = await smtp.waitForMail((m) => m.subject === subject);
    expect(mail.from).toBe('no-reply@atrium.test');
    expect(mail.to).toEqual(['alice@example.test']);
    expect(mail.text).toBe('Hello Alice,\nyour code is 123456.');
    expect(mail.raw).toContain(`Subject: ${subject}`);
    expect(smtp.messages).toContain(mail);
  });

  it('should decode an encoded subject and a quoted-printable text part of a multipart mail when sent', async () => {
    const subject = `Bienvenue à Atrium ✓ ${randomBytes(4).toString('hex')}`;
    // Longer than 76 characters and non-ASCII: nodemailer sends it quoted-printable with soft line breaks.
    const text = `Bonjour Zoë, ${'voici un très long paragraphe '.repeat(6)}fin.\nDeuxième ligne = égale.`;
    await transport().sendMail({
      from: 'no-reply@atrium.test',
      to: ['bob@example.test', 'carol@example.test'],
      bcc: 'audit@example.test',
      subject,
      text,
      html: '<p>ignored</p>',
    });

    const mail = await smtp.waitForMail((m) => m.subject === subject);
    expect(mail.raw).toMatch(/quoted-printable/i);
    expect(mail.raw).toMatch(/=\r\n/);
    expect(mail.text).toBe(text);
    expect(mail.to).toEqual(['bob@example.test', 'carol@example.test', 'audit@example.test']);
  });

  it('should reject when no matching mail arrives within the timeout', async () => {
    const started = Date.now();
    await expect(smtp.waitForMail((m) => m.subject === 'never sent', 300)).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
