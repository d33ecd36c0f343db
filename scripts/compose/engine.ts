// The container engine the compose run drives: Docker where an engine answers, otherwise podman as
// root, with its Docker-compatible API served on a socket of the run's own so that docker-compose
// (which honours `depends_on: condition: service_healthy`) can talk to it.
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { background, must, run, waitUntil, type Background, type Ran, type RunOptions } from './exec.js';

export type EngineKind = 'docker' | 'podman';

export interface Engine {
  kind: EngineKind;
  /** e.g. "podman 4.3.1 (runc)" */
  description: string;
  /** The engine's own command line, e.g. `podman image inspect ...` */
  cli(args: readonly string[], options?: RunOptions): Promise<Ran>;
  tryCli(args: readonly string[], options?: RunOptions): Promise<Ran>;
  /** What docker-compose needs in its environment to reach this engine */
  composeEnv: Record<string, string>;
  /** Options every `build` of ours takes */
  buildOptions: string[];
  /** Whether the engine runs healthchecks itself (podman does so only from systemd timers) */
  runsHealthchecks: boolean;
  stop(): Promise<void>;
}

/**
 * podman on a machine without systemd: runc (crun refuses a hybrid cgroup layout), cgroupfs, events
 * in a file, netavark (its aardvark-dns gives compose's service names), and ulimits root can set
 * where its own hard limit of open files is low.
 */
const podmanConf = `[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"

[network]
network_backend = "netavark"
`;

/** The name an image is stored under: podman keeps a short name as the registry it came from would. */
export function qualifiedImageName(kind: EngineKind, name: string): string {
  if (kind === 'docker') return name;
  const first = name.split('/')[0]!;
  if (name.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) return name;
  return `docker.io/${name.includes('/') ? name : `library/${name}`}`;
}

/** The tag docker-compose 1.29 gives a service's built image: `<project>_<service>`. */
export function composeImageName(kind: EngineKind, project: string, service: string): string {
  return `${kind === 'podman' ? 'localhost/' : ''}${project}_${service}:latest`;
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const request = http.get({ socketPath, path: '/_ping', timeout: 2_000 }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    });
    request.on('error', () => resolve(false));
    request.on('timeout', () => request.destroy());
  });
}

async function dockerEngine(): Promise<Engine | undefined> {
  const info = await run('docker', ['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 10_000 });
  if (info.code !== 0 || !info.stdout.trim()) return undefined;
  return {
    kind: 'docker',
    description: `Docker ${info.stdout.trim()}`,
    cli: (args, options) => must('docker', args, options),
    tryCli: (args, options) => run('docker', args, options),
    composeEnv: {},
    buildOptions: [],
    runsHealthchecks: true,
    stop: async () => undefined,
  };
}

async function podmanEngine(workDir: string): Promise<Engine> {
  if (process.getuid?.() !== 0) {
    throw new Error('no Docker engine answers here, and the podman fallback runs as root: run npm run test:compose as root, or start a Docker engine');
  }
  const conf = join(workDir, 'containers.conf');
  writeFileSync(conf, podmanConf);
  const env = { CONTAINERS_CONF: conf };
  const version = (await must('podman', ['version', '--format', '{{.Client.Version}}'], { env })).stdout.trim();
  const socketPath = join(workDir, 'podman.sock');
  const service: Background = background('podman', ['system', 'service', '--time=0', `unix://${socketPath}`], env);
  await waitUntil(`podman's API on ${socketPath} (${service.output().trim() || 'no output'})`, async () => service.child.exitCode === null && (await ping(socketPath)), 30_000, 250);
  return {
    kind: 'podman',
    description: `podman ${version} (runc, API for docker-compose on a socket of this run)`,
    cli: (args, options) => must('podman', args, { ...options, env: { ...env, ...options?.env } }),
    tryCli: (args, options) => run('podman', args, { ...options, env: { ...env, ...options?.env } }),
    composeEnv: { DOCKER_HOST: `unix://${socketPath}` },
    // Podman's default image format (OCI) has no HEALTHCHECK: Docker's format keeps the Dockerfile's.
    buildOptions: ['--format', 'docker'],
    runsHealthchecks: false,
    stop: () => service.stop(),
  };
}

export async function startEngine(workDir: string): Promise<Engine> {
  return (await dockerEngine()) ?? podmanEngine(workDir);
}
