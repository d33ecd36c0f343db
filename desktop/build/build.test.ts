// The pieces of `npm run desktop` that need no download: the icon, the signature, the cache.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icoFromSvg, icoOf, iconSizes, renderPng } from './icon.mjs';
import { integrityOf, nodeBuild, nodePin } from './nodeBuilds.mjs';
import { isSigned, removeSignature } from './windows.mjs';

const require = createRequire(import.meta.url);
const svg = readFileSync('web/icon.svg', 'utf8');

const pngSize = (png: Buffer) => ({ signature: png.subarray(1, 4).toString('latin1'), width: png.readUInt32BE(16), height: png.readUInt32BE(20) });

describe("Shop.exe's icon", () => {
  it('is the page icon rendered as a square PNG of each size', async () => {
    expect(pngSize(await renderPng(svg, 48))).toEqual({ signature: 'PNG', width: 48, height: 48 });
    expect(pngSize(await renderPng(svg, 256))).toEqual({ signature: 'PNG', width: 256, height: 256 });
  });

  it('is an .ico with one entry per image, 256 written as 0, each pointing at its PNG', () => {
    const images = [{ size: 16, png: Buffer.from('sixteen') }, { size: 256, png: Buffer.from('two-fifty-six') }];
    const ico = icoOf(images);
    expect([ico.readUInt16LE(0), ico.readUInt16LE(2), ico.readUInt16LE(4)]).toEqual([0, 1, 2]);
    const entry = (index: number) => ico.subarray(6 + 16 * index, 22 + 16 * index);
    expect([entry(0).readUInt8(0), entry(0).readUInt32LE(8), entry(0).readUInt32LE(12)]).toEqual([16, 7, 38]);
    expect([entry(1).readUInt8(0), entry(1).readUInt32LE(8), entry(1).readUInt32LE(12)]).toEqual([0, 13, 45]);
    expect(ico.subarray(45).toString()).toBe('two-fifty-six');
    expect(() => icoOf([{ size: 512, png: Buffer.alloc(1) }])).toThrow('an icon image is 1 to 256 pixels wide, not 512');
  });

  it('reads back, as Windows resources are made from it, with every size', async () => {
    const ResEdit = require('resedit');
    const icons = ResEdit.Data.IconFile.from(await icoFromSvg(svg)).icons;
    expect(icons.map((icon: { width: number }) => icon.width || 256)).toEqual(iconSizes);
  });
});

/** The smallest PE32+ header there is to find the certificate table in, with `certificate` appended as the signature. */
function fakeExe(certificate?: Buffer): Buffer {
  const exe = Buffer.alloc(0x200);
  exe.write('MZ', 0, 'latin1');
  exe.writeUInt32LE(0x80, 0x3c);
  exe.write('PE\0\0', 0x80, 'latin1');
  exe.writeUInt16LE(0x20b, 0x80 + 24);
  if (!certificate) return exe;
  const entry = 0x80 + 24 + 112 + 32;
  exe.writeUInt32LE(exe.length, entry);
  exe.writeUInt32LE(certificate.length, entry + 4);
  return Buffer.concat([exe, certificate]);
}

describe("node.exe's signature", () => {
  it('is cut off with its directory entry cleared', () => {
    const signed = fakeExe(Buffer.from('certificate'));
    expect(isSigned(signed)).toBe(true);
    const unsigned = removeSignature(signed);
    expect(isSigned(unsigned)).toBe(false);
    expect(unsigned).toEqual(fakeExe());
    expect(removeSignature(unsigned)).toBe(unsigned);
  });

  it('is refused where it is not at the end, and on what is not a Windows executable', () => {
    const signed = fakeExe(Buffer.from('certificate'));
    expect(() => removeSignature(Buffer.concat([signed, Buffer.from('more')]))).toThrow('the signature is not at the end of the file');
    expect(() => removeSignature(Buffer.alloc(100))).toThrow('not a Windows executable (no MZ header)');
  });
});

describe('the cache of Node builds', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'shop-node-cache-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('pins both builds at one version, each with its sha512 integrity', () => {
    expect(Object.keys(nodePin.builds).sort()).toEqual(['linux-x64', 'win-x64']);
    for (const build of Object.values(nodePin.builds)) expect(build.integrity).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
    expect(integrityOf(Buffer.from('abc'))).toBe('sha512-3a81oZNherrMQXNJriBBMRLm+k6JqX6iCp7u5ktV05ohkpkqJ0/BqDa6PCOj/uu9RU1EI2Q86A4qmslPpUyknw==');
  });

  it('is used as it is when it holds the pinned build of that version', async () => {
    const pin = { version: '0.0.1', builds: { 'linux-x64': { package: 'none', binary: 'package/bin/node', integrity: 'sha512-pinned' } } };
    const dir = join(root, 'node-v0.0.1', 'linux-x64');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'node'), 'a node');
    await writeFile(join(dir, 'integrity'), 'sha512-pinned');
    expect(await nodeBuild('linux-x64', pin, root)).toEqual({ binary: join(dir, 'node'), downloaded: false });
    await expect(nodeBuild('win-x64', pin, root)).rejects.toThrow('no Node build is pinned for win-x64');
  });
});
