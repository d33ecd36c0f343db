// The shop front for browsers: web/src bundled and minified with its stylesheet, the service worker
// beside it, and the gzipped sizes printed (the JavaScript should stay under 30 KB).
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';

export const browsers = ['chrome109', 'edge109', 'firefox115', 'safari15.6'];

/** Builds app.js, app.css and sw.js into `outdir`; resolves with their gzipped sizes in bytes. */
export async function buildWeb(outdir) {
  await build({
    entryPoints: { app: 'web/src/main.tsx' },
    bundle: true,
    minify: true,
    format: 'esm',
    target: browsers,
    jsx: 'automatic',
    jsxImportSource: 'preact',
    outdir,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const shell = ['app.js', 'app.css'].map((file) => readFileSync(`${outdir}/${file}`));
  const version = createHash('sha256')
    .update(Buffer.concat([...shell, readFileSync('web/index.html'), readFileSync('web/manifest.webmanifest')]))
    .digest('hex')
    .slice(0, 12);
  await build({
    entryPoints: { sw: 'web/sw.ts' },
    bundle: true,
    minify: true,
    format: 'iife',
    target: browsers,
    define: { SHELL_VERSION: JSON.stringify(version) },
    outdir,
    logLevel: 'warning',
  });
  const sizes = Object.fromEntries(['app.js', 'app.css', 'sw.js'].map((file) => [file, gzipSync(readFileSync(`${outdir}/${file}`), { level: 9 }).length]));
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(`built the web page into ${outdir}/: app.js ${kb(sizes['app.js'])} gzipped, app.css ${kb(sizes['app.css'])}, sw.js ${kb(sizes['sw.js'])}`);
  return sizes;
}
