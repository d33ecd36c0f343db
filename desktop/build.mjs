// `npm run desktop`: dist/desktop/shop (Linux x64) and dist/desktop/Shop.exe (Windows x64), Node.js
// single executable applications of one bundled file with the page's files as their assets.
//   1. dist/desktop/app/: the page (web/build.mjs) and the desktop's script and stylesheet in
//      assets/, the app bundled by esbuild into shop.cjs (runnable as `node dist/desktop/app/shop.cjs`)
//   2. the blob: made by the pinned Node itself (its Linux build), as a blob must come from exactly
//      the version of the executable it goes into
//   3. each pinned Node build with the blob injected by postject; Shop.exe unsigned first, and given
//      the shop's icon and version information after
// The slow third step is skipped when the blob, the icon and the versions are those of the last build.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { browsers, buildWeb } from '../web/build.mjs';
import { icoFromSvg } from './build/icon.mjs';
import { nodeBuild, nodePin } from './build/nodeBuilds.mjs';
import { brand, removeSignature } from './build/windows.mjs';

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const started = Date.now();
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const out = 'dist/desktop';
const app = `${out}/app`;
const assets = `${app}/assets`;
const seaFuse = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const targets = {
  linux: { file: `${out}/shop`, node: 'linux-x64' },
  windows: { file: `${out}/Shop.exe`, node: 'win-x64' },
};

rmSync(app, { recursive: true, force: true });
mkdirSync(assets, { recursive: true });
const nodes = Promise.all([nodeBuild('linux-x64'), nodeBuild('win-x64')]);

await buildWeb(assets);
for (const file of ['index.html', 'manifest.webmanifest', 'icon.svg']) copyFileSync(`web/${file}`, `${assets}/${file}`);
await build({
  entryPoints: ['desktop/page/desktop.ts', 'desktop/page/desktop.css'],
  bundle: true,
  minify: true,
  format: 'iife',
  target: browsers,
  outdir: assets,
  logLevel: 'warning',
});
await build({
  entryPoints: ['desktop/main.ts'],
  outfile: `${app}/shop.cjs`,
  bundle: true,
  platform: 'node',
  target: `node${nodePin.version.split('.')[0]}`,
  // A single executable application runs its main script as CommonJS.
  format: 'cjs',
  define: { SHOP_VERSION: JSON.stringify(version) },
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
});
const ico = await icoFromSvg(readFileSync('web/icon.svg', 'utf8'));
writeFileSync(`${app}/shop.ico`, ico);

const [linuxNode, windowsNode] = await nodes;
for (const { downloaded, binary } of [linuxNode, windowsNode]) if (downloaded) console.log(`downloaded ${binary} (${seconds()})`);
const seaConfig = {
  main: `${app}/shop.cjs`,
  output: `${app}/sea-prep.blob`,
  disableExperimentalSEAWarning: true,
  // The code cache is made for the blob maker's platform: none, so one blob serves both.
  useCodeCache: false,
  useSnapshot: false,
  assets: Object.fromEntries(readdirSync(assets).map((name) => [name, `${assets}/${name}`])),
};
writeFileSync(`${app}/sea-config.json`, JSON.stringify(seaConfig, null, 2));
await run(linuxNode.binary, ['--experimental-sea-config', `${app}/sea-config.json`]);
const blob = readFileSync(seaConfig.output);

const stamp = createHash('sha256').update(blob).update(ico).update(JSON.stringify({ version, nodePin })).update(readFileSync('desktop/build/windows.mjs')).digest('hex');
const stampFile = `${out}/build.json`;
const previous = existsSync(stampFile) ? JSON.parse(readFileSync(stampFile, 'utf8')) : {};
const upToDate = previous.stamp === stamp && Object.values(targets).every(({ file }) => existsSync(file));

/** postject in a process of its own: it works for seconds, and LIEF's warnings about Node's notes are noise unless it fails. */
async function inject(file) {
  try {
    await run(process.execPath, [require.resolve('postject/dist/cli.js'), file, 'NODE_SEA_BLOB', seaConfig.output, '--sentinel-fuse', seaFuse], { maxBuffer: 64 * 1024 * 1024 });
  } catch (error) {
    throw new Error(`postject could not inject the blob into ${file}:\n${error.stderr || error.message}`);
  }
}

async function linux() {
  const file = `${targets.linux.file}.tmp`;
  copyFileSync(linuxNode.binary, file);
  // Node's Linux build carries its debug information (about 18 MB); strip works only before injecting.
  await run('strip', ['--strip-all', file]);
  await inject(file);
  chmodSync(file, 0o755);
  return file;
}

async function windows() {
  const file = `${targets.windows.file}.tmp`;
  writeFileSync(file, removeSignature(readFileSync(windowsNode.binary)));
  await inject(file);
  chmodSync(file, 0o755);
  writeFileSync(file, brand(readFileSync(file), { ico, productName: 'Shop', version, fileName: 'Shop.exe', description: 'Shop' }));
  return file;
}

if (upToDate) {
  console.log(`dist/desktop is up to date (${seconds()})`);
} else {
  const built = await Promise.all([linux(), windows()]);
  for (const [index, { file }] of Object.values(targets).entries()) renameSync(built[index], file);
  writeFileSync(stampFile, `${JSON.stringify({ stamp, version, node: nodePin.version }, null, 2)}\n`);
}
const megabytes = (file) => `${(statSync(file).size / 1024 / 1024).toFixed(1)} MB`;
console.log(`built ${targets.linux.file} (${megabytes(targets.linux.file)}) and ${targets.windows.file} (${megabytes(targets.windows.file)}), Shop ${version} on Node.js ${nodePin.version}, in ${seconds()}`);
