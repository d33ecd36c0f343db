// The chaos run's own copy of Shop: its databases, its broker namespace, free ports, every service
// from its bundle in processes of its own (two of each relay and consumer), and PostgreSQL and
// RabbitMQ behind TCP proxies that the run can cut without touching the servers others use.
// Longer than most files: a process's start, kill, restart and exit watch are one lifecycle, read here.
import amqp from 'amqplib';
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import pg from 'pg';
import { services } from '../../functions/lib/config.js';
import { names, queueBindings } from '../../functions/lib/topology.js';
import type { FunctionSpec, Service } from '../../infra/manifest.js';
import { startTcpProxy, throughProxy, type TcpProxy } from '../lib/tcpProxy.js';
import { freePort } from '../lib/freePort.js';

type Role = 'api' | 'relay' | 'consumer' | 'gateway';

interface ProcessSpec {
  name: string;
  service: Service;
  role: Role;
  /** The functions it hosts (the runner's --only) */
  only: string[];
}

/** Relays and consumers twice, in processes of their own; the rest of a service in one process. */
export function processSpecs(manifest: readonly FunctionSpec[], instances = 2): ProcessSpec[] {
  const specs: ProcessSpec[] = [];
  for (const service of services) {
    const fns = manifest.filter((f) => f.service === service);
    if (service === 'gateway') {
      specs.push({ name: 'gateway', service, role: 'gateway', only: fns.map((f) => f.name) });
      continue;
    }
    const roleOf = (f: FunctionSpec): Role => (f.queues.length ? 'consumer' : f.wakeOn ? 'relay' : 'api');
    specs.push({ name: service, service, role: 'api', only: fns.filter((f) => roleOf(f) === 'api').map((f) => f.name) });
    for (const role of ['relay', 'consumer'] as const) {
      const only = fns.filter((f) => roleOf(f) === role).map((f) => f.name);
      if (!only.length) continue;
      for (let i = 1; i <= instances; i++) specs.push({ name: `${service}-${role}-${i}`, service, role, only });
    }
  }
  return specs;
}


export interface ProcessExit {
  process: string;
  code: number | string;
  at: string;
}

/** One runner process: started, killed, frozen and restarted by the run; an exit it did not cause is recorded. */
export class ManagedProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private expectedExit = false;
  private shuttingDown = false;
  paused = false;
  starts = 0;

  constructor(
    readonly spec: ProcessSpec,
    readonly port: number,
    private readonly command: string[],
    private readonly env: Record<string, string>,
    private readonly log: WriteStream,
    private readonly onUnexpectedExit: (exit: ProcessExit) => void,
  ) {}

  get running(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    this.starts += 1;
    this.expectedExit = false;
    const child = spawn(process.execPath, this.command, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.pipe(this.log, { end: false });
    child.stderr!.pipe(this.log, { end: false });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        if (this.child === child) this.child = undefined;
        const how = signal ?? code ?? -1;
        this.log.write(`--- ${this.spec.name} exited (${how}) at ${new Date().toISOString()}\n`);
        if (!this.expectedExit && !this.shuttingDown) {
          this.onUnexpectedExit({ process: this.spec.name, code: how, at: new Date().toISOString() });
          // The run goes on: a process that died on its own is started again, as its supervisor would.
          setTimeout(() => !this.shuttingDown && !this.child && this.start(), 500);
        }
        resolve();
      }),
    );
  }

  /** kill -9, and wait until it is gone. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.expectedExit = true;
    this.paused = false;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  pause(): void {
    if (!this.child) return;
    this.child.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }

  /** SIGTERM, then SIGKILL if it has not stopped in time. */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.shuttingDown = true;
    const child = this.child;
    if (child) {
      this.expectedExit = true;
      if (this.paused) this.resume();
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      await this.exited;
      clearTimeout(timer);
    }
    this.log.end();
  }
}

interface SystemOptions {
  namespace: string;
  /** The PostgreSQL server, without a database: postgres://postgres@127.0.0.1:5432 */
  postgresUrl: string;
  amqpUrl: string;
  /** The folder of runner.mjs and the function bundles */
  distDir: string;
  logDir: string;
  manifest: readonly FunctionSpec[];
}

export interface ChaosSystem {
  gatewayUrl: string;
  processes: ManagedProcess[];
  postgres: TcpProxy;
  broker: TcpProxy;
  databases: { payments: string; orders: string };
  unexpectedExits: ProcessExit[];
  /** Waits until the gateway answers for both services */
  ready(timeoutMs: number): Promise<void>;
  /** True when the gateway answers for both services now */
  answering(): Promise<boolean>;
  stop(): Promise<void>;
}

function databaseUrl(postgresUrl: string, database: string): string {
  const url = new URL(postgresUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

function portOf(url: string, fallback: number): number {
  return Number(new URL(url).port || fallback);
}

export async function startSystem(options: SystemOptions): Promise<ChaosSystem> {
  const { namespace, postgresUrl, amqpUrl } = options;
  const databases = { payments: `${namespace}_payments`, orders: `${namespace}_orders` };
  const postgres = await startTcpProxy(portOf(postgresUrl, 5432), new URL(postgresUrl).hostname);
  const broker = await startTcpProxy(portOf(amqpUrl, 5672), new URL(amqpUrl).hostname);
  mkdirSync(options.logDir, { recursive: true });

  const specs = processSpecs(options.manifest);
  const ports = new Map<string, number>();
  for (const spec of specs) ports.set(spec.name, await freePort());
  const apiPort = (service: Service) => ports.get(specs.find((s) => s.service === service && s.role !== 'relay' && s.role !== 'consumer')!.name)!;

  const unexpectedExits: ProcessExit[] = [];
  const processes = specs.map((spec) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      PORT: String(ports.get(spec.name)),
      AMQP_URL: throughProxy(amqpUrl, broker),
      AMQP_NAMESPACE: namespace,
      LOG_LEVEL: 'warn',
      SHUTDOWN_TIMEOUT_MS: '2000',
      UPSTREAM_TIMEOUT_MS: '5000',
      PAYMENTS_DATABASE_URL: throughProxy(databaseUrl(postgresUrl, databases.payments), postgres),
      ORDERS_DATABASE_URL: throughProxy(databaseUrl(postgresUrl, databases.orders), postgres),
      PAYMENTS_URL: `http://127.0.0.1:${apiPort('payments')}`,
      ORDERS_URL: `http://127.0.0.1:${apiPort('orders')}`,
    };
    const log = createWriteStream(`${options.logDir}/${spec.name}.log`, { flags: 'a' });
    const command = [`${options.distDir}/runner.mjs`, spec.service, '--only', spec.only.join(',')];
    return new ManagedProcess(spec, ports.get(spec.name)!, command, env, log, (exit) => unexpectedExits.push(exit));
  });
  const gatewayUrl = `http://127.0.0.1:${ports.get('gateway')}`;

  const answers = async (path: string, status: number) => {
    const response = await fetch(gatewayUrl + path, { signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
    await response?.arrayBuffer();
    return response?.status === status;
  };
  const answering = async () => (await answers('/api/wallet/0', 400)) && (await answers('/api/purchases?limit=1', 200));
  const ready = async (timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    while (!(await answering())) {
      if (Date.now() > deadline) throw new Error(`the chaos system did not answer within ${timeoutMs / 1000} s; see ${options.logDir}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  // The services' own processes migrate their databases; relays and consumers join once they have.
  for (const p of processes.filter((p) => p.spec.role === 'api' || p.spec.role === 'gateway')) p.start();
  await ready(60_000).catch(async (error: unknown) => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all([postgres.close(), broker.close()]);
    throw error;
  });
  for (const p of processes.filter((p) => p.spec.role === 'relay' || p.spec.role === 'consumer')) p.start();

  return {
    gatewayUrl,
    processes,
    postgres,
    broker,
    databases,
    unexpectedExits,
    ready,
    answering,
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      await Promise.all([postgres.close(), broker.close()]);
    },
  };
}

/** One query on one database of the server, on a connection of its own (not through the proxy). */
export async function query<T extends pg.QueryResultRow>(postgresUrl: string, database: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl(postgresUrl, database), application_name: 'chaos' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Ends every connection to the run's databases, as an administrator (or a failover) would. */
export async function terminateConnections(postgresUrl: string, databases: string[]): Promise<number> {
  const rows = await query<{ pid: number }>(
    postgresUrl,
    'postgres',
    'SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity WHERE datname = ANY($1) AND pid <> pg_backend_pid()',
    [databases],
  );
  return rows.length;
}

export async function dropDatabases(postgresUrl: string, databases: string[]): Promise<void> {
  for (const database of databases) {
    await query(postgresUrl, 'postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  }
}

/** Runs `work` on a confirm channel straight to the broker (not through the proxy). */
export async function withBroker<T>(amqpUrl: string, work: (channel: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(amqpUrl, { clientProperties: { connection_name: 'chaos' } });
  connection.on('error', () => undefined);
  try {
    const channel = await connection.createConfirmChannel();
    const result = await work(channel);
    await channel.waitForConfirms();
    await channel.close();
    return result;
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** Ready messages in each consumer queue of the namespace. */
export async function queueDepths(amqpUrl: string, namespace: string): Promise<Record<string, number>> {
  const n = names(namespace);
  return withBroker(amqpUrl, async (channel) => {
    const depths: Record<string, number> = {};
    for (const queue of Object.keys(queueBindings)) depths[n.queue(queue)] = (await channel.checkQueue(n.queue(queue))).messageCount;
    return depths;
  });
}

/** Deletes the namespace's queues, dead-letter queues and exchanges. */
export async function deleteNamespace(amqpUrl: string, namespace: string): Promise<void> {
  const n = names(namespace);
  await withBroker(amqpUrl, async (channel) => {
    for (const queue of Object.keys(queueBindings)) {
      await channel.deleteQueue(n.queue(queue));
      await channel.deleteQueue(n.deadLetterQueue(queue));
    }
    await channel.deleteExchange(n.exchange);
    await channel.deleteExchange(n.deadLetterExchange);
  });
}
