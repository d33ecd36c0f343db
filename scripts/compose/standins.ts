// Stand-ins for the images the Dockerfile and the compose file name, for a machine that reaches no
// image registry: built from Debian's packages on a debootstrap base (infra/docker/standins/), tagged
// with exactly the names the files use, and rebuilt only when their recipe changes (the recipe's hash
// is a label of the image).
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Engine } from './engine.js';
import { qualifiedImageName } from './engine.js';
import { must } from './exec.js';

/** The Debian release the stand-ins are built from: the one node:20-bookworm-slim names. */
const suite = 'bookworm';
/** The npm that the official Node 20 images carry (the node binary is this machine's own). */
const npmVersion = '10.8.2';
export const recipeLabel = 'org.shop.standin.recipe';
const rootfsImage = `localhost/shop-standin-debootstrap:${suite}`;
const baseImage = `localhost/shop-standin-base:${suite}`;

export type Recipe = 'node' | 'postgres' | 'rabbitmq' | 'nginx';
const recipes: Recipe[] = ['node', 'postgres', 'rabbitmq', 'nginx'];

/** The recipe for an image name: its repository, without registry, namespace and tag. */
export function recipeFor(image: string): Recipe | undefined {
  const repository = image.split('/').at(-1)!.split(':')[0]!;
  return recipes.find((r) => r === repository);
}

export interface AptSources {
  /** Where debootstrap fetches the base system */
  mirror: string;
  /** sources.list of the base: the release, its updates and its security archive */
  list: string;
}

interface AptEntry { uris: string[]; suites: string[]; components: string[] }

function aptEntries(text: string): AptEntry[] {
  const entries: AptEntry[] = [];
  // One-line format: deb [options] uri suite component...
  for (const line of text.split('\n')) {
    const words = line.replace(/#.*/, '').replace(/\[[^\]]*\]/, '').trim().split(/\s+/);
    if (words[0] === 'deb' && words.length >= 4) entries.push({ uris: [words[1]!], suites: [words[2]!], components: words.slice(3) });
  }
  // deb822 format: stanzas of "Field: value" separated by blank lines.
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(stanza)?.[1]?.trim().split(/\s+/) ?? [];
    if (field('Types').includes('deb') && field('Enabled')[0]?.toLowerCase() !== 'no') {
      entries.push({ uris: field('URIs'), suites: field('Suites'), components: field('Components') });
    }
  }
  return entries;
}

/**
 * The Debian archive this machine's apt already uses (an entry with component main and a suite like
 * "trixie", "bookworm-updates" or "bookworm-security"), pointed at the stand-ins' release; Debian's
 * public archive where the machine lists none.
 */
export function debianSources(texts: readonly string[]): AptSources {
  const entries = texts.flatMap(aptEntries).filter((e) => e.components.includes('main'));
  const uriOf = (kind: RegExp) => entries.find((e) => e.suites.some((s) => kind.test(s)))?.uris[0]?.replace(/\/+$/, '');
  const mirror = uriOf(/^[a-z]+$/) ?? uriOf(/^[a-z]+-updates$/) ?? 'http://deb.debian.org/debian';
  const security = uriOf(/^[a-z]+-security$/) ?? 'http://deb.debian.org/debian-security';
  return { mirror, list: [`deb ${mirror} ${suite} main`, `deb ${mirror} ${suite}-updates main`, `deb ${security} ${suite}-security main`, ''].join('\n') };
}

export function machineAptSources(): AptSources {
  const files = ['/etc/apt/sources.list', ...(existsSync('/etc/apt/sources.list.d') ? readdirSync('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`) : [])];
  return debianSources(files.filter((f) => existsSync(f) && /(\.list|\.sources|sources\.list)$/.test(f)).map((f) => readFileSync(f, 'utf8')));
}

export function hashOf(...parts: (string | Buffer)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(createHash('sha256').update(part).digest());
  return hash.digest('hex').slice(0, 16);
}

/** The files of a recipe: <name>.Containerfile and, where there is one, <name>-entrypoint.sh. */
export function recipeFiles(dir: string, name: Recipe | 'base'): string[] {
  return [`${name}.Containerfile`, `${name}-entrypoint.sh`].filter((f) => existsSync(join(dir, f)));
}

export interface StandIn {
  image: string;
  recipe: Recipe;
  /** built now, or found with the same recipe */
  built: boolean;
  /** the debootstrap base was built for it */
  withBase: boolean;
  seconds: number;
  /** What it holds, e.g. "PostgreSQL 15.19 (Debian)" */
  holds: string;
}

export interface StandInContext {
  engine: Engine;
  /** infra/docker/standins */
  recipesDir: string;
  workDir: string;
  sources: AptSources;
  log: (line: string) => void;
}

export async function imageLabel(engine: Engine, image: string, label: string): Promise<string | undefined> {
  const inspected = await engine.tryCli(['image', 'inspect', '--format', `{{index .Config.Labels "${label}"}}`, image]);
  if (inspected.code !== 0) return undefined;
  const value = inspected.stdout.trim();
  return value === '<no value>' ? '' : value;
}

async function debootstrap(ctx: StandInContext, key: string): Promise<void> {
  if ((await imageLabel(ctx.engine, rootfsImage, recipeLabel)) === key) return;
  const dir = join(ctx.workDir, 'rootfs');
  ctx.log(`debootstrap --variant=minbase ${suite} from ${ctx.sources.mirror} (about a minute)`);
  await must('debootstrap', ['--variant=minbase', suite, dir, ctx.sources.mirror], { timeoutMs: 15 * 60_000 });
  const tar = join(ctx.workDir, 'rootfs.tar');
  await must('tar', ['-C', dir, '-cf', tar, '.']);
  await ctx.engine.cli(['import', '--change', `LABEL ${recipeLabel}=${key}`, tar, rootfsImage]);
  await must('rm', ['-rf', dir, tar]);
}

function baseKeys(ctx: StandInContext): { rootfs: string; base: string } {
  const rootfs = hashOf('minbase', suite, ctx.sources.mirror);
  const files = recipeFiles(ctx.recipesDir, 'base');
  return { rootfs, base: hashOf(rootfs, ctx.sources.list, ...files.map((f) => readFileSync(join(ctx.recipesDir, f)))) };
}

/** The common base, rebuilt when the mirror, the release or base.Containerfile changes. */
async function ensureBase(ctx: StandInContext): Promise<boolean> {
  const keys = baseKeys(ctx);
  if ((await imageLabel(ctx.engine, baseImage, recipeLabel)) === keys.base) return false;
  await debootstrap(ctx, keys.rootfs);
  const context = join(ctx.workDir, 'standin-base');
  mkdirSync(context, { recursive: true });
  for (const f of recipeFiles(ctx.recipesDir, 'base')) copyFileSync(join(ctx.recipesDir, f), join(context, f));
  writeFileSync(join(context, 'sources.list'), ctx.sources.list);
  ctx.log(`building the stand-ins' base ${baseImage}`);
  await ctx.engine.cli(['build', ...ctx.engine.buildOptions, '--label', `${recipeLabel}=${keys.base}`, '--build-arg', `ROOTFS=${rootfsImage}`, '-t', baseImage, '-f', join(context, 'base.Containerfile'), context], { timeoutMs: 15 * 60_000 });
  return true;
}

/** What the recipe adds beyond its files: for node, this machine's node binary and the npm it packs. */
async function extraInputs(recipe: Recipe, context: string | undefined): Promise<Buffer[]> {
  if (recipe !== 'node') return [];
  if (context) {
    copyFileSync(process.execPath, join(context, 'node'));
    const packed = (await must('npm', ['pack', `npm@${npmVersion}`, '--silent', '--pack-destination', context])).stdout.trim().split('\n').at(-1)!;
    renameSync(join(context, packed), join(context, 'npm.tgz'));
  }
  return [Buffer.from(`${process.version} ${npmVersion}`), readFileSync(process.execPath)];
}

const versionProbes: Record<Recipe, { command: string; holds: (out: string) => string }> = {
  node: { command: 'echo "$(node --version) $(npm --version)"', holds: (out) => `Node ${out.split(' ')[0]}, npm ${out.split(' ')[1]} (this machine's node)` },
  postgres: { command: 'postgres --version', holds: (out) => `PostgreSQL ${/PostgreSQL\)\s+([\d.]+)/.exec(out)?.[1] ?? out} (Debian)` },
  rabbitmq: { command: "dpkg-query -W -f='${Version}' rabbitmq-server", holds: (out) => `RabbitMQ ${out.split('-')[0]} (Debian)` },
  nginx: { command: 'nginx -v 2>&1', holds: (out) => `nginx ${/nginx\/([\d.]+)/.exec(out)?.[1] ?? out} (Debian)` },
};

/** The node stand-in copies this machine's node: it can only stand in for the same major version. */
export function nodeMismatch(image: string, nodeVersion: string): string | undefined {
  const wanted = /^(\d+)/.exec(image.split(':')[1] ?? '')?.[1];
  const have = /^v(\d+)/.exec(nodeVersion)?.[1];
  return wanted && wanted !== have ? `${image} needs Node ${wanted}, and its stand-in copies this machine's node, which is ${nodeVersion}` : undefined;
}

/** The stand-in for one image name, built unless an image of the same recipe is there. */
export async function ensureStandIn(ctx: StandInContext, image: string): Promise<StandIn> {
  const recipe = recipeFor(image);
  if (!recipe) throw new Error(`no image registry is reachable and there is no stand-in recipe for ${image} in ${ctx.recipesDir}`);
  if (recipe === 'node') {
    const mismatch = nodeMismatch(image, process.version);
    if (mismatch) throw new Error(mismatch);
  }
  const started = Date.now();
  const stored = qualifiedImageName(ctx.engine.kind, image);
  const files = recipeFiles(ctx.recipesDir, recipe);
  const key = hashOf(baseKeys(ctx).base, ...files.map((f) => readFileSync(join(ctx.recipesDir, f))), ...(await extraInputs(recipe, undefined)));
  const built = (await imageLabel(ctx.engine, stored, recipeLabel)) !== key;
  let withBase = false;
  if (built) {
    withBase = await ensureBase(ctx);
    const context = join(ctx.workDir, `standin-${recipe}`);
    mkdirSync(context, { recursive: true });
    for (const f of files) copyFileSync(join(ctx.recipesDir, f), join(context, f));
    await extraInputs(recipe, context);
    ctx.log(`building the stand-in ${image} from ${recipe}.Containerfile`);
    await ctx.engine.cli(['build', ...ctx.engine.buildOptions, '--label', `${recipeLabel}=${key}`, '--build-arg', `BASE=${baseImage}`, '-t', stored, '-f', join(context, `${recipe}.Containerfile`), context], { timeoutMs: 15 * 60_000 });
  }
  const probe = versionProbes[recipe];
  const out = (await ctx.engine.cli(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', stored, '-c', probe.command])).stdout.trim();
  return { image, recipe, built, withBase, seconds: Math.round((Date.now() - started) / 1000), holds: probe.holds(out) };
}
