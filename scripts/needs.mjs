// `node scripts/needs.mjs <command>`: what a test command needs beyond its npm packages, checked
// before it starts. What is missing is installed with apt-get where that is possible (root on Debian
// or Ubuntu), in one line of output; otherwise the command stops here, before any test runs, naming
// each missing package and the command that installs it. Plain JavaScript: it runs before any build.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

/** A program, where it is looked for (a path, or a name on PATH), and the Debian package with it. */
export const programs = {
  chromium: { path: '/usr/bin/chromium', package: 'chromium', usedBy: 'the browser tests' },
  unzip: { command: 'unzip', package: 'unzip', usedBy: 'the Lambda artifact tests' },
  'docker-compose': { command: 'docker-compose', package: 'docker-compose', usedBy: 'the compose file test and the container run' },
  debootstrap: { command: 'debootstrap', package: 'debootstrap', usedBy: 'the stand-in images of the container run' },
  iptables: { command: 'iptables', package: 'iptables', usedBy: "the container run's network confinement" },
  podman: { command: 'podman', package: 'podman', usedBy: 'the container run without a Docker engine' },
  runc: { command: 'runc', package: 'runc', usedBy: "podman's container runtime" },
  newuidmap: { command: 'newuidmap', package: 'uidmap', usedBy: 'podman' },
  slirp4netns: { command: 'slirp4netns', package: 'slirp4netns', usedBy: 'podman' },
  'fuse-overlayfs': { command: 'fuse-overlayfs', package: 'fuse-overlayfs', usedBy: 'podman' },
  netavark: { path: '/usr/lib/podman/netavark', package: 'netavark', usedBy: "podman's networks" },
  'aardvark-dns': { path: '/usr/lib/podman/aardvark-dns', package: 'aardvark-dns', usedBy: "the service names on podman's networks" },
  pgbench: { command: 'pgbench', package: 'postgresql-contrib', usedBy: "the benchmark's ceiling" },
  strip: { command: 'strip', package: 'binutils', usedBy: 'the desktop build (Node without its debug information)' },
  tar: { command: 'tar', package: 'tar', usedBy: 'the desktop build (the Node builds come as tarballs)' },
  wine: { path: '/usr/bin/wine', package: 'wine', usedBy: 'the Shop.exe tests' },
  wine64: { path: '/usr/lib/wine/wine64', package: 'wine64', usedBy: 'the Shop.exe tests (a 64-bit program)' },
  Xvfb: { path: '/usr/bin/Xvfb', package: 'xvfb', usedBy: "the desktop app's window test (a display without a screen)" },
};

/**
 * The programs each command needs, those it needs only where no Docker engine answers, and the
 * servers it talks to.
 */
export const commands = {
  test: { programs: ['chromium', 'unzip', 'docker-compose'], servers: ['postgres', 'rabbitmq'] },
  'test:compose': {
    programs: ['docker-compose', 'debootstrap', 'iptables'],
    withoutDockerEngine: ['podman', 'runc', 'newuidmap', 'slirp4netns', 'fuse-overlayfs', 'netavark', 'aardvark-dns'],
    servers: [],
  },
  bench: { programs: ['pgbench'], servers: ['postgres', 'rabbitmq'] },
  desktop: { programs: ['strip', 'tar'], servers: [] },
  'test:desktop': { programs: ['strip', 'tar', 'wine', 'wine64', 'chromium', 'Xvfb'], servers: ['postgres', 'rabbitmq'] },
};

const servers = {
  postgres: { url: process.env.TEST_POSTGRES_URL ?? process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432', defaultPort: 5432, name: 'PostgreSQL' },
  rabbitmq: { url: process.env.TEST_AMQP_URL ?? process.env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', defaultPort: 5672, name: 'RabbitMQ' },
};

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function isInstalled(program) {
  if (program.path) return isExecutable(program.path);
  return (process.env.PATH ?? '').split(delimiter).some((dir) => dir && isExecutable(join(dir, program.command)));
}

function dockerEngineRuns() {
  return spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { stdio: 'ignore', timeout: 10_000 }).status === 0;
}

/** The programs a command needs on this machine. */
export function programsOf(wanted) {
  return [...wanted.programs, ...(wanted.withoutDockerEngine && !dockerEngineRuns() ? wanted.withoutDockerEngine : [])];
}

function canInstall() {
  return process.getuid?.() === 0 && isExecutable('/usr/bin/apt-get');
}

function aptGet(args) {
  const result = spawnSync('apt-get', args, {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  return result.status === 0 ? undefined : (result.stderr || result.error?.message || `exit ${result.status}`).trim();
}

function reachable({ url, defaultPort }) {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || defaultPort), timeout: 2_000 });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

/** Exits the process with a message when something the command needs is missing and cannot be installed. */
export async function ensure(command) {
  const wanted = commands[command];
  if (!wanted) throw new Error(`no such command: ${command} (known: ${Object.keys(commands).join(', ')})`);
  const missing = programsOf(wanted).filter((name) => !isInstalled(programs[name]));
  const packages = [...new Set(missing.map((name) => programs[name].package))];
  const problems = [];
  if (missing.length && canInstall()) {
    console.log(`${command}: installing ${packages.join(', ')} with apt-get (for ${[...new Set(missing.map((n) => programs[n].usedBy))].join(', ')})`);
    const failed = aptGet(['update', '-qq']) ?? aptGet(['install', '-y', '-qq', '--no-install-recommends', ...packages]);
    if (failed) problems.push(`apt-get failed: ${failed.split('\n').slice(-3).join(' ')}`);
  }
  const stillMissing = missing.filter((name) => !isInstalled(programs[name]));
  if (stillMissing.length) {
    for (const name of stillMissing) problems.push(`${name} is missing (Debian package ${programs[name].package}), needed by ${programs[name].usedBy}`);
    const list = [...new Set(stillMissing.map((name) => programs[name].package))].join(' ');
    problems.push(`install with: ${process.getuid?.() === 0 ? '' : 'sudo '}apt-get install -y --no-install-recommends ${list}`);
  }
  for (const name of wanted.servers) {
    const server = servers[name];
    if (!(await reachable(server))) problems.push(`${server.name} is not reachable at ${new URL(server.url).host}: start it (see the README)`);
  }
  if (problems.length) {
    console.error(`${command} cannot start:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exit(1);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const command = process.argv[2];
  if (!command || !commands[command]) {
    console.error(`usage: node scripts/needs.mjs <${Object.keys(commands).join('|')}>`);
    process.exit(2);
  }
  await ensure(command);
}
