// docker-compose.yml and the Dockerfile, checked without running them: docker-compose validates and
// resolves the file, which is then held against what the runners read. Running the containers
// themselves (images built, healthchecks, an order through nginx, a worker killed) is
// `npm run test:compose`, with Docker or podman.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../functions/lib/config.js';
import { functionsOf, manifest, type Service } from '../infra/manifest.js';
import { root } from './support/serverless.js';

const run = promisify(execFile);

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string; target: string };
  command?: string[];
  environment?: Record<string, string>;
  ports?: { published: number | string; target: number }[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  restart?: string;
  hostname?: string;
  volumes?: string[];
}

interface Stage { name: string; from: string; instructions: string[][] }

/** The stages of a Dockerfile, each with its instructions split into words (continuations joined). */
function dockerStages(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  for (const line of lines) {
    const words = line.split(/\s+/);
    if (words[0] === 'FROM') stages.push({ from: words[1]!, name: words[3] ?? `${stages.length}`, instructions: [] });
    else stages.at(-1)?.instructions.push(words);
  }
  return stages;
}

const compose = { services: {} as Record<string, ComposeService> };
let dockerfile: Stage[];
let nginxConf: string;
let initSql: string;
let engines: string;
const runners = () => Object.entries(compose.services).filter(([, s]) => s.build?.target === 'service');
const runnerService = (s: ComposeService) => s.command![2] as Service;
const only = (s: ComposeService) => (s.command![3] === '--only' ? s.command![4]!.split(',') : functionsOf(runnerService(s)).map((f) => f.name));
const stage = (name: string) => dockerfile.find((s) => s.name === name)!;
const instruction = (st: Stage, keyword: string) => st.instructions.filter((i) => i[0] === keyword);

beforeAll(async () => {
  // Debian's docker-compose (scripts/needs.mjs installs it): it validates the file and prints it resolved.
  const { stdout } = await run('docker-compose', ['config'], { cwd: root }).catch((error: Error) => {
    throw new Error(`docker-compose config failed (apt-get install docker-compose): ${error.message}`);
  });
  Object.assign(compose, parse(stdout));
  dockerfile = dockerStages(await readFile(join(root, 'infra/docker/Dockerfile'), 'utf8'));
  nginxConf = await readFile(join(root, 'infra/docker/nginx.conf'), 'utf8');
  initSql = await readFile(join(root, 'infra/docker/postgres-init.sql'), 'utf8');
  engines = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')).engines.node;
});

describe('docker-compose.yml, as docker-compose resolves it', () => {
  it('runs current PostgreSQL and RabbitMQ images on named volumes, and our images from the Dockerfile', () => {
    const { postgres, rabbitmq } = compose.services;
    // The code is tested on PostgreSQL 15 and RabbitMQ 3.10; the images are the current majors.
    expect(Number(/^postgres:(\d+)/.exec(postgres!.image!)?.[1])).toBeGreaterThanOrEqual(15);
    expect(rabbitmq!.image).toMatch(/^rabbitmq:4(\.\d+)*-management/);
    expect(rabbitmq!.hostname).toBe('rabbitmq');
    expect(postgres!.volumes).toContainEqual(expect.stringMatching(/^postgres-data:\/var\/lib\/postgresql\/data/));
    expect(rabbitmq!.volumes).toContainEqual(expect.stringMatching(/^rabbitmq-data:\/var\/lib\/rabbitmq/));

    const nodeMajor = /\d+/.exec(engines)![0];
    for (const name of ['build', 'service']) expect(stage(name).from, name).toMatch(new RegExp(`^node:${nodeMajor}[-.]`));
    for (const [name, service] of Object.entries(compose.services).filter(([, s]) => s.build)) {
      expect(service.build!.dockerfile, name).toBe('infra/docker/Dockerfile');
      expect(dockerfile.map((s) => s.name), name).toContain(service.build!.target);
    }
    expect(stage('web').from).toMatch(/^nginx:/);
  });

  it('builds an image that runs the bundles as a non-root user, with a healthcheck', () => {
    const service = stage('service');
    const user = instruction(service, 'USER').at(-1)?.[1];
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    expect(instruction(service, 'HEALTHCHECK')).toHaveLength(1);
    const steps = instruction(stage('build'), 'RUN').map((i) => i.slice(1).join(' '));
    expect(steps).toHaveLength(2);
    // The install takes the optional CA secret, and fails when npm ci left node_modules incomplete.
    expect(steps[0]).toMatch(/^--mount=type=secret,id=ca,required=false .*NODE_EXTRA_CA_CERTS=\/run\/secrets\/ca.* npm ci .*&& if ! npm ls --all .* exit 1; fi$/);
    expect(steps.at(-1)).toBe('npm run build');
  });

  it('hosts every function of serverless.yml in exactly one kind of container, routes only where a port is published', () => {
    const hosted = new Map<string, string[]>();
    for (const [name, service] of runners()) {
      expect(service.command!.slice(0, 2), name).toEqual(['node', 'dist/runner.mjs']);
      for (const fn of only(service)) hosted.set(`${runnerService(service)}/${fn}`, [...(hosted.get(`${runnerService(service)}/${fn}`) ?? []), name]);
      const fns = manifest.filter((f) => f.service === runnerService(service) && only(service).includes(f.name));
      expect(fns.map((f) => f.name), name).toEqual(only(service));
      const published = (service.ports ?? []).length > 0;
      // A container without a published port can run any number of times: no HTTP function there.
      if (!published) expect(fns.filter((f) => f.http.length).map((f) => f.name), name).toEqual([]);
      if (published && runnerService(service) !== 'gateway') expect(fns.map((f) => f.name), name).toContain(`migrate${name[0]!.toUpperCase()}${name.slice(1)}`);
    }
    expect(Object.fromEntries([...hosted].filter(([, where]) => where.length !== 1))).toEqual({});
    expect([...hosted.keys()].sort()).toEqual(manifest.map((f) => `${f.service}/${f.name}`).sort());
  });

  it('publishes payments on 8001, orders on 8002, the gateway on 8005 and the page on 80; workers publish nothing', () => {
    const published = Object.fromEntries(
      Object.entries(compose.services).map(([name, s]) => [name, (s.ports ?? []).map((p) => `${p.published}:${p.target}`)]),
    );
    expect(published).toEqual({
      postgres: [],
      rabbitmq: ['15672:15672'],
      payments: ['8001:8001'],
      'payments-worker': [],
      orders: ['8002:8002'],
      'orders-worker': [],
      gateway: ['8005:8005'],
      web: ['80:80'],
    });
  });

  it('takes each host port from a variable whose default is the port above, named in the header', async () => {
    const text = await readFile(join(root, 'docker-compose.yml'), 'utf8');
    const header = /^(#.*\n)+/.exec(text)?.[0] ?? '';
    const raw = parse(text, { merge: true }) as { services: Record<string, { ports?: string[] }> };
    const ports = Object.values(raw.services).flatMap((s) => s.ports ?? []);
    expect(ports).toHaveLength(5);
    for (const port of ports) {
      const [, variable, fallback, target] = /^\$\{([A-Z_]+_PORT):-(\d+)\}:(\d+)$/.exec(port) ?? [];
      expect([variable, fallback], port).toEqual([expect.any(String), target]);
      expect(header, variable).toContain(`${variable} (${fallback})`);
    }
  });

  it('gives each container only variables its runner reads, with values it accepts and addresses that exist', () => {
    const databases = [...initSql.matchAll(/CREATE DATABASE (\w+)/g)].map((m) => m[1]);
    const postgresEnv = compose.services.postgres!.environment!;
    const rabbitEnv = compose.services.rabbitmq!.environment!;
    for (const [name, service] of runners()) {
      const env = service.environment ?? {};
      const read = new Set(['LOG_LEVEL']); // read by functions/lib/log.ts
      loadConfig(runnerService(service), new Proxy({}, { get: (_, key) => void read.add(String(key)) }));
      expect(Object.keys(env).filter((v) => !read.has(v)), name).toEqual([]);

      const config = loadConfig(runnerService(service), env);
      expect(String(config.port), name).toBe(env.PORT);
      for (const port of service.ports ?? []) expect(port.target, name).toBe(config.port);
      const needs = new Set<string>();
      if (runnerService(service) !== 'gateway') {
        const db = new URL(config.databaseUrl);
        expect([db.hostname, db.username, db.password], name).toEqual(['postgres', postgresEnv.POSTGRES_USER, postgresEnv.POSTGRES_PASSWORD]);
        expect(databases, name).toContain(db.pathname.slice(1));
        expect(db.pathname, name).toBe(`/shop_${runnerService(service)}`);
        needs.add('postgres');
      }
      if (env.AMQP_URL) {
        const broker = new URL(config.amqpUrl);
        expect([broker.hostname, broker.username, broker.password], name).toEqual(['rabbitmq', rabbitEnv.RABBITMQ_DEFAULT_USER, rabbitEnv.RABBITMQ_DEFAULT_PASS]);
        needs.add('rabbitmq');
      }
      if (runnerService(service) === 'gateway') {
        expect(config.paymentsUrl).toBe(`http://payments:${compose.services.payments!.environment!.PORT}`);
        expect(config.ordersUrl).toBe(`http://orders:${compose.services.orders!.environment!.PORT}`);
        needs.add('payments').add('orders');
      }
      for (const dependency of needs) {
        // A worker reaches PostgreSQL after its API container migrated the database.
        const via = dependency === 'postgres' && name.endsWith('-worker') ? name.replace('-worker', '') : dependency;
        expect(service.depends_on?.[via]?.condition, `${name} -> ${via}`).toBe('service_healthy');
      }
    }
  });

  it('waits only on services that have a healthcheck, and restarts every service on failure', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      expect(service.restart, name).toBe('unless-stopped');
      for (const dependency of Object.keys(service.depends_on ?? {})) {
        expect(compose.services[dependency]!.healthcheck?.test?.[0], `${name} waits on ${dependency}`).toBe('CMD');
      }
    }
  });

  it('puts nginx on port 80 in front of the gateway, at the port the gateway listens on', () => {
    expect(nginxConf).toContain(`proxy_pass http://gateway:${compose.services.gateway!.environment!.PORT};`);
    expect(nginxConf).toContain(`listen ${compose.services.web!.ports![0]!.target};`);
    expect(compose.services.web!.depends_on?.gateway?.condition).toBe('service_healthy');
  });
});
