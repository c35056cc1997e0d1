import sharp from 'sharp';
import { describeDisguise, SNIFF_BYTES, sniffType } from './detect-type';
import { buildZip, docxEntries } from './testing/zip-fixture';

function ftyp(major: string, compatible: string[]): Buffer {
  const box = Buffer.alloc(16 + compatible.length * 4);
  box.writeUInt32BE(box.length, 0);
  box.write('ftyp', 4, 'latin1');
  box.write(major, 8, 'latin1');
  compatible.forEach((brand, index) => box.write(brand, 16 + index * 4, 'latin1'));
  // What follows the ftyp box in a real file.
  return Buffer.concat([box, Buffer.from([0, 0, 0, 8]), Buffer.from('free', 'latin1')]);
}

const text = (value: string): Buffer => Buffer.from(value, 'utf8');

describe('sniffType', () => {
  it('should read each accepted type from real encoder output', async () => {
    const image = sharp({ create: { width: 3, height: 2, channels: 3, background: '#336699' } });
    expect(sniffType(await image.clone().jpeg().toBuffer())).toEqual({ kind: 'jpg' });
    expect(sniffType(await image.clone().png().toBuffer())).toEqual({ kind: 'png' });
    expect(sniffType(await image.clone().gif().toBuffer())).toEqual({ kind: 'gif' });
    expect(sniffType(buildZip(docxEntries()))).toEqual({ kind: 'zip' });
  });

  it.each<[string, Buffer]>([
    ['GIF87a', text('GIF87a\x01\x00\x01\x00')],
    ['PDF', text('%PDF-1.7\n%âãÏÓ\n1 0 obj')],
    ['PDF 2.0', text('%PDF-2.0\n')],
  ])('should accept a %s header', (_name, head) => {
    expect(sniffType(head).kind).not.toBe('unknown');
  });

  it('should accept a PDF header only at offset 0 and say what else it is', () => {
    const shifted = Buffer.concat([text('<html><body>hi</body></html>\n'), text('%PDF-1.4\n')]);
    expect(sniffType(shifted)).toEqual({ kind: 'unknown', label: 'pdf-offset' });
  });

  it.each<[string, string[]]>([
    ['isom', ['isom', 'iso2', 'avc1', 'mp41']],
    ['mp42', ['mp42', 'isom']],
    ['M4V ', ['M4V ', 'M4A ', 'mp42', 'isom']],
    ['dash', ['iso6', 'mp41']],
    // Unknown major brand, but a compatible MP4 brand.
    ['XAVC', ['XAVC', 'mp42', 'iso2']],
  ])('should accept an MP4 with major brand %j', (major, compatible) => {
    expect(sniffType(ftyp(major, compatible))).toEqual({ kind: 'mp4' });
  });

  it.each<[string, string[], string]>([
    ['qt  ', ['qt  '], 'quicktime'],
    ['qt  ', ['qt  ', 'isom'], 'quicktime'],
    ['heic', ['mif1', 'heic'], 'heif'],
    ['mif1', ['mif1', 'heic', 'miaf'], 'heif'],
    ['avif', ['avif', 'mif1', 'miaf', 'MA1B'], 'avif'],
    // An image container that also lists an MP4 brand is still an image.
    ['isom', ['isom', 'mif1', 'heic'], 'heif'],
    ['3gp5', ['3gp5', 'isom'], '3gp'],
    ['3g2a', ['3g2a'], '3gp'],
    ['M4A ', ['M4A ', 'mp42', 'isom'], 'mp4-audio'],
  ])('should not take major brand %j with %j for an MP4', (major, compatible, label) => {
    expect(sniffType(ftyp(major, compatible))).toEqual({ kind: 'unknown', label });
  });

  it('should not take an ftyp box with a foreign brand or a broken size for an MP4', () => {
    expect(sniffType(ftyp('abcd', ['efgh']))).toEqual({ kind: 'unknown' });
    const broken = ftyp('isom', ['isom']);
    broken.writeUInt32BE(1, 0);
    expect(sniffType(broken)).toEqual({ kind: 'unknown' });
  });

  it.each<[string, Buffer, string]>([
    ['a Windows executable', Buffer.concat([text('MZ'), Buffer.alloc(62), text('PE\0\0')]), 'exe'],
    ['an ELF binary', Buffer.from([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]), 'elf'],
    ['a Mach-O binary', Buffer.from([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1]), 'mach-o'],
    ['a shell script', text('#!/bin/sh\nrm -rf /\n'), 'script'],
    ['PHP', text('<?php system($_GET["c"]); ?>'), 'script'],
    ['an HTML page', text('<!DOCTYPE html><html><script>alert(1)</script>'), 'html'],
    ['an HTML page after a BOM and blanks', text('\ufeff \n\t<HTML><body>'), 'html'],
    ['a bare script tag', text('<script>alert(1)</script>'), 'html'],
    ['an SVG', text('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'), 'svg'],
    [
      'an SVG with a prolog',
      text('<?xml version="1.0"?>\n<!-- x -->\n<svg xmlns="http://www.w3.org/2000/svg"/>'),
      'svg',
    ],
    ['plain XML', text('<?xml version="1.0"?><root/>'), 'xml'],
    ['an empty zip', Buffer.from([0x50, 0x4b, 0x05, 0x06, ...new Array<number>(18).fill(0)]), 'zip-empty'],
    ['a spanned zip', Buffer.from([0x50, 0x4b, 0x07, 0x08, 0x50, 0x4b, 0x03, 0x04]), 'zip-spanned'],
    ['a legacy Office file', Buffer.from([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]), 'ole'],
    ['a gzip', Buffer.from([0x1f, 0x8b, 0x08, 0x00]), 'gzip'],
    ['a WebP', Buffer.concat([text('RIFF'), Buffer.alloc(4), text('WEBPVP8 ')]), 'webp'],
    ['a TIFF', Buffer.from([0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0]), 'tiff'],
  ])('should label %s', (_name, head, label) => {
    expect(sniffType(head)).toEqual({ kind: 'unknown', label });
    expect(describeDisguise(label)).not.toBe(describeDisguise(undefined));
  });

  it('should not take a partial PNG signature for a PNG', () => {
    expect(sniffType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d]))).toEqual({ kind: 'unknown', label: 'png-truncated' });
    // A wrong byte in the signature (a line-ending conversion mangled it).
    expect(sniffType(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0a, 0x1a, 0x0a, 0x00]))).toEqual({ kind: 'unknown' });
  });

  it('should not take a shortened magic number for its type', () => {
    expect(sniffType(Buffer.from([0xff, 0xd8]))).toEqual({ kind: 'unknown' });
    expect(sniffType(text('GIF8'))).toEqual({ kind: 'unknown' });
    expect(sniffType(text('%PDF'))).toEqual({ kind: 'unknown' });
    expect(sniffType(text('PK\x03'))).toEqual({ kind: 'unknown' });
    expect(sniffType(Buffer.alloc(0))).toEqual({ kind: 'unknown' });
  });

  it('should say nothing about text it does not know', () => {
    expect(sniffType(text('name,email\nAda,ada@example.com\n'))).toEqual({ kind: 'unknown' });
    expect(describeDisguise(undefined)).toBe('a file of an unrecognised type');
    expect(describeDisguise('constructor')).toBe('a file of an unrecognised type');
    expect(describeDisguise('exe')).toBe('a Windows executable');
  });

  it('should read everything it needs within SNIFF_BYTES', () => {
    const compatible = new Array<string>(1010).fill('abcd');
    compatible.push('mp42');
    const head = ftyp('XXXX', compatible);
    expect(head.length).toBeLessThanOrEqual(SNIFF_BYTES + 8);
    expect(sniffType(head.subarray(0, SNIFF_BYTES))).toEqual({ kind: 'mp4' });
  });
});
