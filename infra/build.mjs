// `npm run build`: every function of serverless.yml and the runner, minified, in one esbuild run with
// code splitting: the functions of a service share chunks, so one process holds one pg, one Middy and
// one pool per service, and each Lambda artifact packs its own file and the chunks it imports
// (dist/artifacts.json, which serverless.yml reads). The starter and the tools beside them, in dist/.
import { build } from 'esbuild';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { buildWeb } from '../web/build.mjs';
import { writeGenerated } from './generate.mjs';

const { functions } = parse(readFileSync('serverless.yml', 'utf8'));
// A handler names its bundle (dist/functions/payments/deposit.handler); the source is functions/payments/deposit.ts.
const moduleOf = (handler) => handler.slice(0, handler.lastIndexOf('.')).replace(/^dist\//, '');
const modules = [...new Set(Object.values(functions).map((f) => moduleOf(f.handler)))];

// `import text from './file?raw'` bundles the file's text, as Vite does.
const raw = {
  name: 'raw',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, async (args) => {
      const found = await b.resolve(args.path.slice(0, -'?raw'.length), { kind: args.kind, resolveDir: args.resolveDir });
      return found.errors.length ? { errors: found.errors } : { path: found.path, namespace: 'raw' };
    });
    b.onLoad({ filter: /.*/, namespace: 'raw' }, (args) => ({ contents: readFileSync(args.path, 'utf8'), loader: 'text' }));
  },
};

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  outdir: 'dist',
  outExtension: { '.js': '.mjs' },
  // pg and amqplib are CommonJS and require Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // pg's optional native binding, never loaded.
  external: ['pg-native'],
  // pg asks whether it runs in a Cloudflare Worker by making a Response when there is no navigator
  // (Node 20 has none), which loads Node's whole fetch (undici) on start: this says it is Node.
  define: { navigator: '{"userAgent":"Node.js"}' },
  // SHOP_MINIFY=0 keeps the names readable in a CPU profile (npm run bench with BENCH_PROFILE_DIR).
  minify: process.env.SHOP_MINIFY !== '0',
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [raw],
};

/** Each entry's own file and every chunk it imports, as the metafile records them. */
function filesOf(metafile, output) {
  const files = new Set();
  const visit = (file) => {
    if (files.has(file)) return;
    files.add(file);
    for (const { path, kind } of metafile.outputs[file].imports) if (kind === 'import-statement' && metafile.outputs[path]) visit(path);
  };
  visit(output);
  return [...files].sort();
}

// Everything but the desktop executables (`npm run desktop`), which take a minute to make again.
for (const entry of existsSync('dist') ? readdirSync('dist') : []) if (entry !== 'desktop') rmSync(`dist/${entry}`, { recursive: true, force: true });
await writeGenerated();
// First: the gateway's web functions bundle the page's files from dist/web.
await buildWeb('dist/web');
const { metafile } = await build({
  ...common,
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  metafile: true,
  entryPoints: [...modules.map((m) => ({ in: `${m}.ts`, out: m })), { in: 'infra/main.ts', out: 'runner' }],
});
const artifacts = Object.fromEntries(Object.entries(functions).map(([name, fn]) => [name, filesOf(metafile, `dist/${moduleOf(fn.handler)}.mjs`)]));
writeFileSync('dist/artifacts.json', `${JSON.stringify(artifacts, null, 2)}\n`);
await build({
  ...common,
  entryPoints: [
    { in: 'infra/start.ts', out: 'start' },
    { in: 'scripts/bench.ts', out: 'bench' },
    { in: 'scripts/dlq.ts', out: 'dlq' },
    { in: 'scripts/chaos.ts', out: 'chaos' },
    { in: 'scripts/composeTest.ts', out: 'compose-test' },
  ],
});
const kb = (files) => Math.round(files.reduce((sum, file) => sum + statSync(file).size, 0) / 1024);
const sizes = Object.values(artifacts).map(kb);
console.log(`built ${modules.length} function bundles and the runner into dist/: each artifact ${Math.min(...sizes)} to ${Math.max(...sizes)} KB`);
