// The benchmark's own Shop, as `npm start` runs it: the three services from their bundles, one
// process each, on databases, a broker namespace and free ports of their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { services, type ServiceName } from '../../functions/lib/config.js';
import { freePort } from '../lib/freePort.js';

interface BenchService {
  name: ServiceName;
  url: string;
  pid: number;
  /** Milliseconds from the process's start to its first answer */
  startMs: number;
}

interface BenchSystem {
  gatewayUrl: string;
  services: BenchService[];
  stop(): Promise<void>;
}

interface BenchSystemOptions {
  distDir: string;
  postgresUrl: string;
  amqpUrl: string;
  namespace: string;
  ports: Record<ServiceName, number>;
  /** Where each service writes its CPU profile (node --cpu-prof) when it stops; none when undefined */
  profileDir?: string;
}

const databaseOf = (postgresUrl: string, name: string) => Object.assign(new URL(postgresUrl), { pathname: `/${name}` }).toString();

export async function benchPorts(): Promise<Record<ServiceName, number>> {
  return { payments: await freePort(), orders: await freePort(), gateway: await freePort() };
}

async function firstAnswer(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${url}: the process exited (${child.exitCode})`);
    const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
    if (ok) return;
    if (performance.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Starts the three services, each once the one before answers; each start is timed from its spawn. */
export async function startBenchSystem(options: BenchSystemOptions): Promise<BenchSystem> {
  const { ports } = options;
  const urls = Object.fromEntries(services.map((s) => [s, `http://127.0.0.1:${ports[s]}`])) as Record<ServiceName, string>;
  const env = {
    PATH: process.env.PATH ?? '',
    AMQP_URL: options.amqpUrl,
    AMQP_NAMESPACE: options.namespace,
    LOG_LEVEL: 'warn',
    PAYMENTS_DATABASE_URL: databaseOf(options.postgresUrl, `${options.namespace}_payments`),
    ORDERS_DATABASE_URL: databaseOf(options.postgresUrl, `${options.namespace}_orders`),
    PAYMENTS_URL: urls.payments,
    ORDERS_URL: urls.orders,
  };
  const children: ChildProcess[] = [];
  const started: BenchService[] = [];
  // One at a time, so that each one's start is its own and not its share of two cores.
  for (const name of services) {
    const begun = performance.now();
    const profile = options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
    const child = spawn(process.execPath, [...profile, `${options.distDir}/runner.mjs`, name], {
      env: { ...env, PORT: String(ports[name]) },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    children.push(child);
    await firstAnswer(urls[name], child, 30_000);
    started.push({ name, url: urls[name], pid: child.pid!, startMs: Math.round(performance.now() - begun) });
  }
  return {
    gatewayUrl: urls.gateway,
    services: started,
    async stop() {
      await Promise.all(
        children.map(async (child) => {
          if (child.exitCode !== null) return;
          child.kill('SIGTERM');
          await once(child, 'exit');
        }),
      );
    },
  };
}

export async function dropBenchDatabases(postgresUrl: string, names: string[]): Promise<void> {
  const client = new pg.Client({ connectionString: databaseOf(postgresUrl, 'postgres') });
  await client.connect();
  try {
    for (const name of names) await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}
