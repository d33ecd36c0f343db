// docker-compose.yml kept honest without a Docker engine. docker-compose validates and resolves the
// file; the resolved file is checked against what the runners read; then every container's command
// runs here with its environment, from a folder laid out as the image's Dockerfile lays it out
// (service host names pointed at 127.0.0.1, a port of its own for each, as its own container would
// have), and an order goes through them, and through nginx with the web container's configuration.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadConfig } from '../functions/lib/config.js';
import { names } from '../functions/lib/topology.js';
import { functionsOf, manifest, type Service } from '../infra/manifest.js';
import { deleteNamespace, withChannel } from './support/broker.js';
import { amqpUrl, dropDatabase, postgresUrl, uniqueName } from './support/db.js';
import { freePort, startBundle, type ServiceProcess } from './support/processes.js';
import { root } from './support/serverless.js';
import { api, waitFor } from './support/system.js';

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

// ---------------------------------------------------------------------------------------------
// The containers' commands, run here.

const namespace = uniqueName('compose');
const image = { dir: '' };
const processes: { name: string; env: Record<string, string>; process: ServiceProcess }[] = [];
const ports: Record<string, number> = {};
const nginxes: ServiceProcess[] = [];
let nginxDir: string;

/** The folder the service image holds at WORKDIR, laid out by the stage's COPY instructions. */
async function layOutImage(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'shop-image-'));
  const service = stage('service');
  const workdir = instruction(service, 'WORKDIR').at(-1)![1]!;
  const buildWorkdir = instruction(stage('build'), 'WORKDIR').at(-1)![1]!;
  for (const words of instruction(service, 'COPY')) {
    const [source, target] = words.slice(-2) as [string, string];
    // From the build stage: its WORKDIR is the repository with `npm run build` done, i.e. this one.
    const from = words.some((w) => w.startsWith('--from=')) ? join(root, source.replace(new RegExp(`^${buildWorkdir}/?`), '')) : join(root, source);
    const to = join(dir, target.startsWith('/') ? target.replace(new RegExp(`^${workdir}/?`), '') : target);
    await mkdir(dirname(to), { recursive: true });
    await cp(from, to, { recursive: true });
  }
  return dir;
}

/** A container's environment with compose host names pointed here, and this test's own names. */
function localize(name: string, env: Record<string, string>): Record<string, string> {
  const local: Record<string, string> = { AMQP_NAMESPACE: namespace };
  for (const [key, value] of Object.entries(env)) {
    if (key === 'PORT') {
      local.PORT = String(ports[name]);
    } else if (value.startsWith('postgres://')) {
      local[key] = `${postgresUrl}/${namespace}_${new URL(value).pathname.slice(1)}`;
    } else if (value.startsWith('amqp://')) {
      local[key] = amqpUrl;
    } else if (value.startsWith('http://')) {
      const url = new URL(value);
      local[key] = `http://127.0.0.1:${ports[url.hostname]}`;
    } else {
      local[key] = value;
    }
  }
  return local;
}

async function healthcheck(name: string, test: string[]): Promise<number> {
  const started = processes.find((p) => p.name === name)!;
  expect(test[0]).toBe('CMD');
  const [command, ...args] = test.slice(1);
  return run(command === 'node' ? process.execPath : command!, args, { cwd: image.dir, env: { PATH: process.env.PATH ?? '', ...started.env } }).then(
    () => 0,
    (error: { code?: number }) => error.code ?? 1,
  );
}

/** Runs a container's healthcheck every quarter second, as Docker would (more slowly), until it passes. */
async function untilHealthy(name: string, timeoutMs = 30_000): Promise<void> {
  const started = processes.find((p) => p.name === name)!;
  const test = compose.services[name.replace(/-\d+$/, '')]!.healthcheck!.test;
  for (const deadline = Date.now() + timeoutMs; (await healthcheck(name, test)) !== 0; ) {
    if (started.process.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`${name} did not become healthy:\n${started.process.output()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function start(name: string, instance = name): void {
  const service = compose.services[name]!;
  const env = localize(instance, service.environment ?? {});
  const [command, ...args] = service.command!;
  expect(command).toBe('node');
  processes.push({ name: instance, env, process: startBundle(args, { ...env, LOG_LEVEL: 'warn' }, process.execPath, image.dir) });
}

const nginxBinary = ['/usr/sbin/nginx', '/usr/local/sbin/nginx'].find(existsSync) ?? 'nginx';

/** nginx with the web container's server block; the gateway's address is `upstreamPort` here. */
async function startNginx(upstreamPort: number): Promise<number> {
  const port = await freePort();
  const dir = await mkdtemp(join(nginxDir, 'run-'));
  const replace = (text: string, from: string, to: string) => {
    expect(text.split(from)).toHaveLength(2);
    return text.replace(from, to);
  };
  let server = replace(nginxConf, 'listen 80;', `listen 127.0.0.1:${port};`);
  server = replace(server, `proxy_pass http://gateway:${compose.services.gateway!.environment!.PORT};`, `proxy_pass http://127.0.0.1:${upstreamPort};`);
  // What the nginx image's own nginx.conf puts around conf.d/default.conf.
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${dir}/${t};`).join(' ');
  await writeFile(
    join(dir, 'nginx.conf'),
    `daemon off; error_log stderr warn; pid ${dir}/nginx.pid; events {}
     http { access_log off; default_type application/octet-stream; ${temp}
       ${server} }`,
  );
  const nginx = startBundle(['-p', dir, '-c', join(dir, 'nginx.conf')], {}, nginxBinary);
  nginxes.push(nginx);
  await waitFor(`nginx on ${port} (${nginx.output()})`, async () => (await fetch(`http://127.0.0.1:${port}/openapi.yaml`)).status > 0);
  return port;
}

beforeAll(async () => {
  image.dir = await layOutImage();
  nginxDir = await mkdtemp(join(tmpdir(), 'shop-nginx-'));
  // --scale payments-worker=2: two containers of one service, each with its own network namespace.
  const instances = runners().flatMap(([name]) => (name === 'payments-worker' ? [`${name}-1`, `${name}-2`] : [name]));
  for (const instance of instances) ports[instance] = await freePort();
  // depends_on: the APIs first (they migrate), then the workers and the gateway once the APIs are healthy.
  start('payments');
  start('orders');
  await Promise.all([untilHealthy('payments'), untilHealthy('orders')]);
  start('payments-worker', 'payments-worker-1');
  start('payments-worker', 'payments-worker-2');
  start('orders-worker');
  start('gateway');
}, 60_000);

afterAll(async () => {
  await Promise.all([...processes.map((p) => p.process.stop()), ...nginxes.map((n) => n.stop())]);
  await Promise.all([dropDatabase(`${namespace}_shop_payments`), dropDatabase(`${namespace}_shop_orders`), deleteNamespace(namespace)]);
  await Promise.all([rm(image.dir, { recursive: true, force: true }), rm(nginxDir, { recursive: true, force: true })]);
});

describe("each container's command and environment, run here", () => {
  it('passes every healthcheck that docker-compose.yml gives a container', async () => {
    for (const { name } of processes) await untilHealthy(name);
  });

  it('takes an order through the gateway: paid once by one of two payment workers, or cancelled with its reason', async () => {
    const gateway = api(`http://127.0.0.1:${ports.gateway}`);
    await waitFor('both payment workers to consume', () =>
      withChannel(async (ch) => (await ch.checkQueue(names(namespace).queue('payments.process-payment'))).consumerCount === 2),
    );
    expect((await gateway.post('/api/wallet/create', { user_id: 1 })).status).toBe(201);
    expect((await gateway.post('/api/wallet/1/deposit', { amount: 10 })).status).toBe(200);
    const paid = await gateway.post('/api/purchase', { user_id: 1, amount: 4, description: 'A teapot' });
    const refused = await gateway.post('/api/purchase', { user_id: 1, amount: 100, description: 'A boat' });
    const settled = (id: string) =>
      waitFor(`order ${id} to settle`, async () => {
        const { body } = await gateway.get(`/api/purchase/${id}`);
        return body.status === 'NEW' ? undefined : body;
      });
    expect(await settled(paid.body.id)).toMatchObject({ status: 'FINISHED', reason: null });
    expect(await settled(refused.body.id)).toMatchObject({ status: 'CANCELLED', reason: 'insufficient_funds' });
    expect((await gateway.get('/api/wallet/1')).body.balance).toBe(6);
  });

  it('serves the page, the API, its docs and the OpenAPI document on the web port, as the gateway does', async () => {
    const port = await startNginx(ports.gateway!);
    const web = `http://127.0.0.1:${port}`;
    const gateway = `http://127.0.0.1:${ports.gateway}`;
    for (const path of ['/', '/docs', '/openapi.yaml', '/api/purchases?user_id=1', '/api/nothing']) {
      const [proxied, direct] = await Promise.all([fetch(web + path), fetch(gateway + path)]);
      expect([proxied.status, proxied.headers.get('content-type')], path).toEqual([direct.status, direct.headers.get('content-type')]);
      expect(await proxied.text(), path).toBe(await direct.text());
    }
    const page = await fetch(`${web}/`);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'/);
    const created = await api(web).post('/api/wallet/create', { user_id: 2 });
    expect([created.status, created.headers.get('location')]).toEqual([201, '/api/wallet/2']);
    // Text goes out compressed; fetch undoes it and keeps the header.
    const spec = await fetch(`${web}/openapi.yaml`, { headers: { 'accept-encoding': 'gzip' } });
    expect(spec.headers.get('content-encoding')).toBe('gzip');
    expect(await spec.text()).toMatch(/^openapi: 3\.1\.0/);
  });

  it('passes a Server-Sent Events stream through nginx event by event', async () => {
    let firstArrived!: () => void;
    const arrived = new Promise<void>((resolve) => (firstArrived = resolve));
    // A gateway that sends the second event only after the browser saw the first: a buffering
    // proxy would hold the first back for good.
    const upstream = http.createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      response.write(`data: first ${request.url}\n\n`);
      void arrived.then(() => response.end('data: second\n\n'));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    try {
      const port = await startNginx((upstream.address() as AddressInfo).port);
      const response = await fetch(`http://127.0.0.1:${port}/api/purchases/stream?user_id=1`);
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('\n\n')) text += new TextDecoder().decode((await reader.read()).value);
      expect(text).toBe('data: first /api/purchases/stream?user_id=1\n\n');
      firstArrived();
      while (!text.endsWith('second\n\n')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('data: second');
    } finally {
      firstArrived();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
    }
  });

  it("fails a container's healthcheck once what it needs is gone", async () => {
    const payments = processes.find((p) => p.name === 'payments')!;
    expect(await payments.process.stop('SIGTERM')).toBe(0);
    expect(await healthcheck('payments', compose.services.payments!.healthcheck!.test)).toBe(1);
    // The gateway's readiness covers its upstreams.
    expect(await healthcheck('gateway', compose.services.gateway!.healthcheck!.test)).toBe(1);
    expect(await healthcheck('orders', compose.services.orders!.healthcheck!.test)).toBe(0);
  });
});
