// Shop.exe's icon, made from the page's web/icon.svg at build time: the SVG rendered to PNG at each
// size Windows asks for (resvg, as WebAssembly: no native code, no browser), in one .ico file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
export const iconSizes = [16, 20, 24, 32, 40, 48, 64, 128, 256];

/**
 * An .ico holding PNG images (read by Windows since Vista): the 6-byte header, one 16-byte entry
 * per image (a width or height of 256 is written as 0), then the images.
 */
export function icoOf(images) {
  const header = Buffer.alloc(6);
  header.writeUInt16LE(1, 2);
  header.writeUInt16LE(images.length, 4);
  let offset = 6 + 16 * images.length;
  const entries = images.map(({ size, png }) => {
    if (!Number.isInteger(size) || size < 1 || size > 256) throw new Error(`an icon image is 1 to 256 pixels wide, not ${size}`);
    const entry = Buffer.alloc(16);
    entry.writeUInt8(size % 256, 0);
    entry.writeUInt8(size % 256, 1);
    entry.writeUInt16LE(1, 4); // colour planes
    entry.writeUInt16LE(32, 6); // bits per pixel
    entry.writeUInt32LE(png.length, 8);
    entry.writeUInt32LE(offset, 12);
    offset += png.length;
    return entry;
  });
  return Buffer.concat([header, ...entries, ...images.map(({ png }) => png)]);
}

let ready;
/** The SVG as a square PNG `size` pixels wide. */
export async function renderPng(svg, size) {
  const { initWasm, Resvg } = require('@resvg/resvg-wasm');
  ready ??= initWasm(readFileSync(require.resolve('@resvg/resvg-wasm/index_bg.wasm')));
  await ready;
  return Buffer.from(new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render().asPng());
}

export async function icoFromSvg(svg, sizes = iconSizes) {
  const images = [];
  for (const size of sizes) images.push({ size, png: await renderPng(svg, size) });
  return icoOf(images);
}
