// `npm run build`: every function of serverless.yml bundled on its own (as Lambda packages it), and
// the runner, the starter and the benchmark beside them, all in dist/.
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { parse } from 'yaml';
import { buildWeb } from '../web/build.mjs';

const { functions } = parse(readFileSync('serverless.yml', 'utf8'));
// A handler names its bundle (dist/functions/payments/deposit.handler); the source is functions/payments/deposit.ts.
const modules = [...new Set(Object.values(functions).map((f) => f.handler.slice(0, f.handler.lastIndexOf('.')).replace(/^dist\//, '')))];

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
  // knex, pg and amqplib are CommonJS and require Node's built-ins.
  banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  // knex's other dialects, never loaded.
  external: ['oracledb', 'mysql', 'mysql2', 'mariadb', 'mariadb/*', 'sqlite3', 'better-sqlite3', 'tedious', 'pg-native', 'pg-query-stream'],
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
  plugins: [raw],
};

rmSync('dist', { recursive: true, force: true });
// First: the gateway's web functions bundle the page's files from dist/web.
await buildWeb('dist/web');
await build({ ...common, entryPoints: modules.map((m) => ({ in: `${m}.ts`, out: m })) });
await build({
  ...common,
  entryPoints: [
    { in: 'infra/main.ts', out: 'runner' },
    { in: 'infra/start.ts', out: 'start' },
    { in: 'scripts/bench.ts', out: 'bench' },
    { in: 'scripts/dlq.ts', out: 'dlq' },
    { in: 'scripts/chaos.ts', out: 'chaos' },
    { in: 'scripts/composeTest.ts', out: 'compose-test' },
  ],
});
console.log(`built ${modules.length} functions and the runner into dist/`);
