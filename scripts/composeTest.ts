// `npm run test:compose`: builds infra/docker/Dockerfile and runs docker-compose.yml as it is, in a
// compose project of its own on free loopback ports (beside a shop started by `npm start`), with
// Docker where an engine runs and with podman where none does. Base images come from their registry,
// or are stand-ins built from Debian's packages where no registry answers. Once every container is
// healthy it uses the shop through nginx, checks every service's /ready, kills a payment worker with
// SIGKILL while orders flow and checks that none was lost or paid twice; then `down -v`. Prints a
// report and exits 1 on any failure; containers, network, volumes and firewall rules go in any case.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Compose, portVariables, projectName, type Published } from './compose/compose.js';
import { startEngine, type Engine } from './compose/engine.js';
import { beginCleanUp, interrupt, must, waitUntil } from './compose/exec.js';
import { confine, connectCommand, parseConnectResults, parseNetwork, release, type Target } from './compose/firewall.js';
import { healthOf, projectContainers, runHealthchecks, startedTooSoon, type HealthLoop } from './compose/health.js';
import { buildProjectImages, composeImages, dockerfileBaseImages, ensureBaseImages, registryReachable, tagForProject, untag, type ComposeConfig } from './compose/images.js';
import { firstOrders, healthcheckFailsWithoutPayments, ordersThroughAKill, readiness, webMatchesGateway, type Urls } from './compose/shop.js';
import { buildWithoutSecret, caBundlePath, distinctiveCertificates, proveAbsent, registryNeedsCa, type UnsecretBuild } from './compose/secret.js';
import { machineAptSources } from './compose/standins.js';
import { freePort } from './lib/freePort.js';

const root = resolve(import.meta.dirname, '..');
const dockerfile = join(root, 'infra/docker/Dockerfile');
const workers = 2;

const started = Date.now();
const lines: [string, string][] = [];
const violations: string[] = [];
const report = (label: string, text: string) => lines.push([label, text]);
const log = (line: string) => process.stderr.write(`test:compose: ${line}\n`);
const seconds = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;
const fail = (list: readonly string[]) => violations.push(...list);

/** The compose project once it exists: its logs are printed when a step fails. */
let active: Compose | undefined;

/** What the run made, undone in reverse order, once, whatever happens. */
const undo: { what: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;
function cleanUp(): Promise<void> {
  beginCleanUp();
  cleaning ??= (async () => {
    for (const step of undo.reverse()) {
      await step.run().catch((error: unknown) => {
        violations.push(`clean-up: ${step.what} failed: ${error instanceof Error ? error.message : String(error)}`);
      });
    }
  })();
  return cleaning;
}

let reported = false;
function printReport(): void {
  if (reported) return;
  reported = true;
  const width = Math.max(7, ...lines.map(([label]) => label.length));
  console.log('Shop test:compose: docker-compose.yml built and run in containers');
  for (const [label, text] of lines) console.log(`${label.padEnd(width)}  ${text}`);
  for (const v of violations) console.log(`${'FAILED'.padEnd(width)}  ${v}`);
  console.log(`${'verdict'.padEnd(width)}  ${violations.length ? `${violations.length} failure(s)` : 'passed'} in ${seconds(started)}`);
}

let exitCode = 0;
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.once(signal, () => {
    log(`${signal}: stopping, then removing the containers, networks and volumes of this run`);
    violations.push(`interrupted by ${signal}`);
    exitCode = code;
    // What runs stops at once; the step in progress fails, and the clean-up follows as after any failure.
    interrupt();
    setTimeout(() => void cleanUp().finally(finish), 20_000).unref();
  });
}

function finish(): never {
  printReport();
  process.exit(exitCode || (violations.length ? 1 : 0));
}

/** The project's containers, networks and volumes: gone after `down -v`, else removed here and reported. */
async function removeProject(engine: Engine, compose: Compose): Promise<void> {
  const down = await compose.down();
  const label = `label=com.docker.compose.project=${compose.project}`;
  const left = async () => ({
    containers: (await engine.tryCli(['ps', '-aq', '--filter', label])).stdout.trim().split('\n').filter(Boolean),
    networks: (await engine.tryCli(['network', 'ls', '-q', '--filter', label])).stdout.trim().split('\n').filter(Boolean),
    volumes: (await engine.tryCli(['volume', 'ls', '-q', '--filter', label])).stdout.trim().split('\n').filter(Boolean),
  });
  let remaining = await left();
  if (down.code !== 0 || Object.values(remaining).some((l) => l.length)) {
    violations.push(`docker-compose down -v left ${JSON.stringify(remaining)} (exit ${down.code}: ${down.stderr.trim().split('\n').at(-1)})`);
    if (remaining.containers.length) await engine.tryCli(['rm', '-f', '-v', ...remaining.containers]);
    if (remaining.networks.length) await engine.tryCli(['network', 'rm', ...remaining.networks]);
    if (remaining.volumes.length) await engine.tryCli(['volume', 'rm', '-f', ...remaining.volumes]);
    remaining = await left();
  }
  const gone = !Object.values(remaining).some((l) => l.length);
  if (!gone) violations.push(`still there after the clean-up: ${JSON.stringify(remaining)}`);
  report('cleanup', gone ? 'down -v: the containers, the network and the volumes are gone; the images stay' : 'NOT clean');
}

async function allHealthy(engine: Engine, project: string, expected: number): Promise<string[] | undefined> {
  const containers = await projectContainers(engine, project);
  const down = containers.filter((c) => healthOf(c.status) === 'down' || healthOf(c.status) === 'unhealthy');
  if (down.length) throw new Error(`${down.map((c) => `${c.name} ${c.status}`).join(', ')}`);
  if (containers.length !== expected || !containers.every((c) => healthOf(c.status) === 'healthy')) return undefined;
  return containers.map((c) => c.name.replace(`${project}_`, ''));
}

/** Every depends_on (service_healthy) wait, container by container: when it started, when what it waited for was healthy. */
async function dependsOnEdges(engine: Engine, compose: Compose, config: ComposeConfig, loop: HealthLoop) {
  const containers = new Map<string, { id: string; name: string; startedAt: number }[]>();
  for (const service of Object.keys(config.services)) {
    const found = await compose.containers(service);
    containers.set(
      service,
      await Promise.all(found.map(async (c) => ({ ...c, startedAt: Number((await engine.cli(['inspect', '--format', '{{.State.StartedAt.UnixMilli}}', c.id])).stdout.trim()) }))),
    );
  }
  return Object.entries(config.services).flatMap(([service, { depends_on }]) =>
    Object.entries(depends_on ?? {})
      .filter(([, { condition }]) => condition === 'service_healthy')
      .flatMap(([dependency]) =>
        containers.get(service)!.flatMap((c) =>
          containers.get(dependency)!.map((d) => ({ service: c.name, startedAt: c.startedAt, dependency: d.name, healthyAt: loop.firstHealthy(d.id) })),
        ),
      ),
  );
}

async function main(): Promise<void> {
  const workDir = mkdtempSync(join(tmpdir(), 'shop-compose-'));
  undo.push({ what: `removing ${workDir}`, run: async () => rmSync(workDir, { recursive: true, force: true }) });
  const project = projectName(randomBytes(4).toString('hex'));

  const engine = await startEngine(workDir);
  undo.push({ what: `stopping ${engine.kind}`, run: () => engine.stop() });
  const composeVersion = (await must('docker-compose', ['version', '--short'])).stdout.trim();
  report('engine', `${engine.description}; docker-compose ${composeVersion}; project ${project}`);

  const ports = Object.fromEntries(await Promise.all(Object.keys(portVariables).map(async (name) => [name, await freePort()]))) as Record<Published, number>;
  const compose = new Compose(engine, root, project, ports);
  active = compose;
  const config = await compose.config();
  const urls: Urls = {
    web: `http://127.0.0.1:${ports.web}`,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    payments: `http://127.0.0.1:${ports.payments}`,
    orders: `http://127.0.0.1:${ports.orders}`,
    management: `http://127.0.0.1:${ports.rabbitmqManagement}`,
  };
  report('ports', Object.entries(portVariables).map(([name, { variable }]) => `${variable}=127.0.0.1:${ports[name as Published]}`).join(' '));

  // Images: the bases, then ours.
  let phase = Date.now();
  const registry = await registryReachable();
  log(registry ? 'an image registry answers: pulling the base images' : 'no image registry answers: using stand-ins built from Debian packages');
  const bases = await ensureBaseImages(engine, [...new Set([...dockerfileBaseImages(readFileSync(dockerfile, 'utf8')), ...composeImages(config)])], { engine, recipesDir: join(root, 'infra/docker/standins'), workDir, sources: machineAptSources(), log }, registry);
  for (const base of bases.filter((b) => b.source !== 'stand-in')) report('base image', `${base.image}: ${base.source === 'pulled' ? 'pulled from its registry' : 'the registry image already here'}${base.note ? ` (${base.note})` : ''}`);
  for (const { standIn, note } of bases.filter((b) => b.standIn)) {
    report('stand-in', `${standIn!.image} = ${standIn!.holds}, ${standIn!.built ? `built in ${standIn!.seconds} s${standIn!.withBase ? ', with the debootstrap base' : ''}` : 'cached'}${note ? ` (${note})` : ''}`);
  }
  const caBundle = caBundlePath();
  const targets = [...new Set(Object.values(config.services).flatMap((s) => (s.build?.target ? [s.build.target] : [])))];
  const built = await buildProjectImages(engine, { root, dockerfile, targets, caBundle, log });
  report('built', built.map((b) => `${b.tag} (target ${b.target}, ${b.id}) in ${b.seconds} s`).join('; '));
  const tags = await tagForProject(engine, config, project, built);
  undo.push({ what: 'removing the project tags', run: () => untag(engine, tags) });
  log(`images ready in ${seconds(phase)}`);

  // The build secret: in no layer, not mounted; and needed where the network re-signs TLS.
  const needsCa = registryNeedsCa();
  let unsecret: Promise<UnsecretBuild> | undefined;
  if (needsCa === 'needed') {
    // It mostly waits on npm's retries: it runs while the containers start.
    const stop = new AbortController();
    unsecret = buildWithoutSecret(engine, { root, dockerfile, workDir, signal: stop.signal });
    undo.push({ what: 'stopping the build without the secret', run: async () => stop.abort() });
  }
  if (caBundle) {
    const distinctive = distinctiveCertificates(readFileSync(caBundle, 'utf8'));
    for (const b of built) {
      const proof = await proveAbsent(engine, b.tag, workDir, caBundle);
      if (proof.traces.length) fail(proof.traces.map((t) => `the CA secret left a trace in ${b.tag}: ${t.what} in layer ${t.layer}${t.file ? ` at ${t.file}` : ''}`));
      if (proof.mounted) violations.push(`a container of ${b.tag} finds /run/secrets/ca`);
      report('secret', `${b.tag}: ${proof.layers} layers searched for the bundle and its ${distinctive.length} certificate(s) that Node does not trust on its own: ${proof.traces.length ? `${proof.traces.length} trace(s)` : 'none there'}; /run/secrets/ca ${proof.mounted ? 'present' : 'absent'} in a container`);
    }
  } else {
    report('secret', 'no CA bundle here (NODE_EXTRA_CA_CERTS or /etc/ssl/certs/ca-certificates.crt): built without the secret');
  }

  // Up, on a network that reaches nothing but its own containers.
  undo.push({ what: 'removing the firewall rules', run: () => release(engine, project) });
  undo.push({ what: 'docker-compose down -v', run: () => removeProject(engine, compose) });
  const scale = ['--scale', `payments-worker=${workers}`];
  await compose.must(['up', '--no-start', '--no-build', ...scale], { timeoutMs: 5 * 60_000 });
  const network = parseNetwork((await engine.cli(['network', 'inspect', `${project}_default`])).stdout);
  const confined = process.getuid?.() === 0;
  if (confined) await confine(network, project);
  const loop = engine.runsHealthchecks ? undefined : runHealthchecks(engine, project);
  if (loop) undo.push({ what: 'stopping the healthchecks', run: () => loop.stop() });
  phase = Date.now();
  log('docker-compose up: each service starts once what it depends on is healthy');
  await compose.must(['up', '-d', '--no-build', ...scale], { timeoutMs: 8 * 60_000 });
  const expected = Object.keys(config.services).length + workers - 1;
  const healthy = await waitUntil(`all ${expected} containers to be healthy`, () => allHealthy(engine, project, expected), 5 * 60_000, 1_000);
  report('healthy', `${healthy.length} containers healthy ${seconds(phase)} after up: ${healthy.join(', ')}`);
  if (loop) {
    // Where this run makes the healthchecks, it knows when each passed: no container started before what it waits for.
    const edges = await dependsOnEdges(engine, compose, config, loop);
    const early = startedTooSoon(edges);
    fail(early);
    report('order', early.length ? `${early.length} of ${edges.length} depends_on waits not honoured` : `each of the ${edges.length} depends_on waits (service_healthy) was honoured: no container started before what it waits for was healthy`);
  }

  log('using the shop through nginx');
  fail(await webMatchesGateway(urls));
  const first = await firstOrders(urls, 1);
  fail(first.violations);
  report('web port', `nginx answers /, /docs, /openapi.yaml as the gateway does (gzipped); wallet 1 with 7.10 + 2.90; order of 4.20 ${first.paid.status}, order of 100.00 ${first.cancelled.status} (${first.cancelled.reason}); balance ${(first.balanceCents / 100).toFixed(2)}; ${first.streamed ? 'both on the status stream through nginx' : 'NOT on the status stream'}`);
  const ready = await readiness(urls, compose);
  fail(ready.violations);
  report('ready', [...ready.lines, ...ready.violations].join('; '));

  // Containment: a listener of this machine and a registry the build reached, from inside.
  const listener = net.createServer((socket) => socket.destroy());
  await new Promise<void>((done) => listener.listen(0, '0.0.0.0', done));
  try {
    const hostPort = (listener.address() as net.AddressInfo).port;
    const targets: Target[] = [{ host: 'postgres', port: 5432 }, { host: network.gateway, port: hostPort }, { host: 'registry.npmjs.org', port: 443 }];
    const inside = parseConnectResults((await compose.exec('payments-worker', connectCommand(targets))).stdout, targets);
    const here = parseConnectResults((await must(process.execPath, connectCommand(targets.slice(1)).slice(1))).stdout, targets.slice(1));
    const [own, host, outside] = targets.map((t) => `${t.host}:${t.port}`) as [string, string, string];
    report('network', `${confined ? `bridge ${network.bridge} (${network.subnet}) confined by iptables` : 'not confined (not root)'}; from inside: ${own} ${inside.get(own)}, this machine ${host} ${inside.get(host)}, ${outside} ${inside.get(outside)} (from this machine: ${here.get(host)}, ${here.get(outside)})`);
    if (inside.get(own) !== 'connected') violations.push(`a container cannot reach ${own}: ${inside.get(own)}`);
    if (confined) for (const t of [host, outside]) if (inside.get(t) === 'connected') violations.push(`a container reached ${t}, outside its network`);
  } finally {
    listener.close();
  }

  log(`orders while a payment worker is killed`);
  const kill = await ordersThroughAKill(urls, compose, engine, { orders: 60, users: Array.from({ length: 10 }, (_, i) => 1001 + i), depositCents: 30_00, killAfter: 20, concurrency: 4 });
  fail(kill.violations);
  report('kill', `${kill.killed} after ${kill.killedAfter} orders, while they kept coming; ${kill.restarted}`);
  report('orders', `placed ${kill.placed + 2} (2 + ${kill.placed}), FINISHED ${kill.finished + 1}, CANCELLED ${kill.cancelled + 1}; lost ${kill.lost}, paid twice ${kill.paidTwice}`);
  report('database', `shop_payments: ${kill.database}`);

  const healthcheck = await healthcheckFailsWithoutPayments(compose);
  if (healthcheck) violations.push(healthcheck);
  report('healthcheck', healthcheck ?? "with payments stopped, the gateway's healthcheck fails (exit 1)");

  if (unsecret) {
    log('waiting for the build without the CA secret');
    const result = await unsecret;
    if (!result.failed) violations.push('a build without the CA secret succeeded on a network that re-signs TLS: npm ci did not fail loudly');
    report('no secret', `this network re-signs TLS to the npm registry; the same Dockerfile without the secret ${result.failed ? `fails at its install step in ${result.seconds} s: ${result.why}` : 'SUCCEEDED'}`);
  } else {
    report('no secret', needsCa === 'not needed' ? "not tried: Node trusts the npm registry's certificate here without the secret" : 'not tried: the npm registry could not be reached to tell');
  }
}

await main().catch(async (error: unknown) => {
  violations.push(error instanceof Error ? error.message : String(error));
  // What the containers said last, while they are still there to ask.
  if (active && !cleaning) {
    const logs = await active.run(['logs', '--no-color', '--tail', '25'], { timeoutMs: 60_000 });
    if (logs.code === 0 && logs.stdout.trim()) log(`the containers' last lines:\n${logs.stdout.trim()}`);
  }
});
await cleanUp();
finish();
