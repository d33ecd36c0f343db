// The images of a compose run: the base images the Dockerfile and the compose file name (pulled
// where a registry answers, stand-ins where none does), then the project's own images built from
// infra/docker/Dockerfile with the CA bundle as a build secret, and tagged as docker-compose names
// a service's built image, so that `up --no-build` runs exactly what was built here.
import { composeImageName, qualifiedImageName, type Engine } from './engine.js';
import { imageLabel, ensureStandIn, recipeLabel, type StandIn, type StandInContext } from './standins.js';

export interface ComposeConfig {
  services: Record<string, { image?: string; build?: { context: string; dockerfile: string; target?: string }; depends_on?: Record<string, { condition?: string }> }>;
}

/** The images a Dockerfile starts from (not its own stages), in order, each once. */
export function dockerfileBaseImages(text: string): string[] {
  const stages = new Set<string>();
  const images: string[] = [];
  for (const line of text.replace(/\\\n/g, ' ').split('\n')) {
    const match = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!match) continue;
    const [, image, stage] = match;
    if (!stages.has(image!.toLowerCase()) && !images.includes(image!)) images.push(image!);
    if (stage) stages.add(stage.toLowerCase());
  }
  return images;
}

/** The images the compose file runs as they are (services without a build). */
export function composeImages(config: ComposeConfig): string[] {
  return [...new Set(Object.values(config.services).flatMap((s) => (!s.build && s.image ? [s.image] : [])))];
}

/** Docker Hub answers /v2/ with 401 to anyone who can reach it; no answer in a few seconds means none. */
export async function registryReachable(url = 'https://registry-1.docker.io/v2/'): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

interface BaseImage {
  image: string;
  source: 'pulled' | 'local' | 'stand-in';
  standIn?: StandIn;
  /** Why a registry's image was not used */
  note?: string;
}

export async function ensureBaseImages(engine: Engine, images: readonly string[], standIns: StandInContext, registry: boolean): Promise<BaseImage[]> {
  const found: BaseImage[] = [];
  for (const image of images) {
    const stored = qualifiedImageName(engine.kind, image);
    let note: string | undefined;
    if (registry) {
      standIns.log(`pulling ${image}`);
      const pulled = await engine.tryCli(['pull', stored], { timeoutMs: 10 * 60_000 });
      if (pulled.code === 0) {
        found.push({ image, source: 'pulled' });
        continue;
      }
      note = `pull failed: ${pulled.stderr.trim().split('\n').at(-1)}`;
    }
    // An image of that name that is no stand-in came from a registry earlier: use it as it is.
    const label = await imageLabel(engine, stored, recipeLabel);
    if (label === '') {
      found.push({ image, source: 'local', note });
      continue;
    }
    found.push({ image, source: 'stand-in', standIn: await ensureStandIn(standIns, image), note });
  }
  return found;
}

interface BuiltImage {
  target: string;
  tag: string;
  seconds: number;
  id: string;
}

/** Our image for a Dockerfile target, kept between runs so that the layer cache stays. */
function ownImageName(engine: Engine, target: string): string {
  return `${engine.kind === 'podman' ? 'localhost/' : ''}shop-compose-test-${target}:latest`;
}

export async function buildProjectImages(
  engine: Engine,
  options: { root: string; dockerfile: string; targets: readonly string[]; caBundle: string | undefined; log: (line: string) => void },
): Promise<BuiltImage[]> {
  const built: BuiltImage[] = [];
  for (const target of options.targets) {
    const started = Date.now();
    const tag = ownImageName(engine, target);
    options.log(`building ${options.dockerfile} target ${target}${options.caBundle ? ` with the CA bundle ${options.caBundle} as the build secret "ca"` : ''}`);
    await engine.cli(
      ['build', ...engine.buildOptions, ...(options.caBundle ? ['--secret', `id=ca,src=${options.caBundle}`] : []), '-f', options.dockerfile, '--target', target, '-t', tag, options.root],
      { cwd: options.root, env: { DOCKER_BUILDKIT: '1' }, timeoutMs: 20 * 60_000 },
    );
    const id = (await engine.cli(['image', 'inspect', '--format', '{{.Id}}', tag])).stdout.trim().replace(/^sha256:/, '').slice(0, 12);
    built.push({ target, tag, id, seconds: Math.round((Date.now() - started) / 1000) });
  }
  return built;
}

/** Tags each built service's image as docker-compose will look for it; returns the tags to remove after. */
export async function tagForProject(engine: Engine, config: ComposeConfig, project: string, built: readonly BuiltImage[]): Promise<string[]> {
  const tags: string[] = [];
  for (const [service, { build }] of Object.entries(config.services)) {
    if (!build) continue;
    const image = built.find((b) => b.target === build.target);
    if (!image) throw new Error(`service ${service} builds target ${build.target ?? '(none)'}, which this run did not build`);
    const tag = composeImageName(engine.kind, project, service);
    await engine.cli(['tag', image.tag, tag]);
    tags.push(tag);
  }
  return tags;
}

export async function untag(engine: Engine, tags: readonly string[]): Promise<void> {
  for (const tag of tags) await engine.tryCli(engine.kind === 'podman' ? ['untag', tag, tag] : ['rmi', tag]);
}
