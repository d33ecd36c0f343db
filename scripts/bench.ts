// `npm run bench`: starts its own Shop from the bundles (as `npm start` runs it, on databases, a
// broker namespace and ports of its own) and measures, in one run: the database's ceiling for the
// work of an order (pgbench, ceiling.sql), orders placed and settled per second by 32 clients, the
// CPU each process spent per order, POST-to-final latency on the status stream at idle, each
// service's memory and start time, and every function's Lambda artifact. Prints a table and JSON.
import { randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import pg from 'pg';
import { services, type ServiceName } from '../functions/lib/config.js';
import { measureCeiling } from './bench/ceiling.js';
import { createWallets, measureLatency, measureThroughput } from './bench/load.js';
import { latencyStages } from './bench/stages.js';
import { cpuMeter, pidsOf, rssMb } from './bench/proc.js';
import { benchPorts, dropBenchDatabases, startBenchSystem } from './bench/system.js';

const env = process.env;
const postgresUrl = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const amqpUrl = env.BENCH_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
const clients = Number(env.BENCH_CLIENTS ?? 32);
const seconds = Number(env.BENCH_SECONDS ?? 10);
const latencyOrders = Number(env.BENCH_LATENCY_ORDERS ?? 200);
const distDir = new URL('.', import.meta.url).pathname.replace(/\/$/, '');
const jsonFile = env.BENCH_JSON ?? 'bench-report.json';
/** A folder for each service's CPU profile of the measured run (node --cpu-prof), to see where the time goes */
const profileDir = env.BENCH_PROFILE_DIR;

const round = (n: number, places = 2) => Math.round(n * 10 ** places) / 10 ** places;

function artifactSizes(): Record<string, number> {
  const artifacts = JSON.parse(readFileSync(`${distDir}/artifacts.json`, 'utf8')) as Record<string, string[]>;
  return Object.fromEntries(
    Object.entries(artifacts).map(([name, files]) => [name, Math.round(files.reduce((sum, file) => sum + statSync(file).size, 0) / 1024)]),
  );
}

async function main(): Promise<void> {
  const namespace = `bench_${randomBytes(4).toString('hex')}`;
  const databases = [`${namespace}_payments`, `${namespace}_orders`, `${namespace}_ceiling`];
  const ports = await benchPorts();
  const options = { distDir, postgresUrl, amqpUrl, namespace, ports };
  try {
    console.error('bench: the ceiling (pgbench)');
    const ceiling = await measureCeiling(postgresUrl, databases[2]!, clients, seconds);

    console.error('bench: first start (creates and migrates the databases), then a restart, timed');
    await (await startBenchSystem(options)).stop();
    const system = await startBenchSystem({ ...options, profileDir });
    try {
      const pidOf = Object.fromEntries(system.services.map((s) => [s.name, s.pid])) as Record<ServiceName, number>;
      const firstUser = 1 + (Date.now() % 1_000_000) * 1_000;
      const users = Array.from({ length: clients }, (_, i) => firstUser + 1 + i);
      await createWallets(system.gatewayUrl, [firstUser, ...users], 1_000_000);

      console.error('bench: latency at idle');
      const { ids: latencyIds, ...latency } = await measureLatency(system.gatewayUrl, firstUser, latencyOrders, 20);
      const stages = await latencyStages(`${postgresUrl}/${databases[1]}`, `${postgresUrl}/${databases[0]}`, latencyIds);
      const idleRss = Object.fromEntries(services.map((s) => [s, rssMb(pidOf[s])]));

      console.error(`bench: ${clients} clients for ${seconds} s`);
      const meters = {
        ...Object.fromEntries(services.map((s) => [s, cpuMeter(() => [pidOf[s]])])),
        postgresql: cpuMeter(() => pidsOf(['postgres'])),
        rabbitmq: cpuMeter(() => pidsOf(['beam.smp', 'erl_child_setup'])),
      };
      const commitsBefore = await commits(databases.slice(0, 2));
      const clientStart = process.cpuUsage();
      const throughput = await measureThroughput(system.gatewayUrl, users, seconds);
      const clientUsage = process.cpuUsage(clientStart);
      const commitsAfter = await commits(databases.slice(0, 2));
      const perOrder = (ms: number) => round(ms / throughput.orders, 3);
      const cpu = Object.fromEntries(Object.entries(meters).map(([name, read]) => [name, perOrder(read())]));
      const systemCpu = round(Object.values(cpu).reduce((a, b) => a + b, 0), 3);
      const loadedRss = Object.fromEntries(services.map((s) => [s, rssMb(pidOf[s])]));

      const report = {
        ceiling,
        throughput: { ...throughput, settled_per_ceiling: round(throughput.settled_per_s / ceiling.orders_per_s) },
        cpu_ms_per_order: { ...cpu, all: systemCpu, client: perOrder((clientUsage.user + clientUsage.system) / 1000) },
        // Transactions PostgreSQL committed (a statement on its own counts as one), per order.
        commits_per_order: Object.fromEntries(
          Object.keys(commitsAfter).map((db) => [db.slice(namespace.length + 1), round((commitsAfter[db]! - commitsBefore[db]!) / throughput.orders)]),
        ),
        latency_ms: { ...latency, stages },
        rss_mb: { idle: idleRss, after_load: loadedRss },
        start_ms: Object.fromEntries(system.services.map((s) => [s.name, s.startMs])),
        artifact_kb: artifactSizes(),
      };
      print(report);
      writeFileSync(jsonFile, `${JSON.stringify(report, null, 2)}\n`);
      if (throughput.not_final > 0) process.exitCode = 1;
    } finally {
      await system.stop();
    }
  } finally {
    await dropBenchDatabases(postgresUrl, databases);
  }
}

/** Transactions each database has committed so far (PostgreSQL's statistics, read from the postgres database). */
async function commits(names: string[]): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: `${postgresUrl}/postgres` });
  await client.connect();
  try {
    // The statistics are sent to the collector at the end of each transaction; they lag by a little.
    const { rows } = await client.query<{ datname: string; xact_commit: string }>('SELECT datname, xact_commit FROM pg_stat_database WHERE datname = ANY($1)', [names]);
    return Object.fromEntries(rows.map((r) => [r.datname, Number(r.xact_commit)]));
  } finally {
    await client.end();
  }
}

function print(r: {
  ceiling: { orders_per_s: number };
  throughput: { orders: number; placed_per_s: number; settled_per_s: number; settled_per_ceiling: number; not_final: number };
  cpu_ms_per_order: Record<string, number>;
  commits_per_order: Record<string, number>;
  latency_ms: { p50_ms: number; p99_ms: number; post_p50_ms: number; orders: number; stages: Record<string, number> };
  rss_mb: { idle: Record<string, number>; after_load: Record<string, number> };
  start_ms: Record<string, number>;
  artifact_kb: Record<string, number>;
}): void {
  const rows: [string, string][] = [
    ['ceiling: pgbench, the three commits of one order', `${r.ceiling.orders_per_s} orders/s`],
    ['settled per second', `${r.throughput.settled_per_s} (${r.throughput.settled_per_ceiling} of the ceiling)`],
    ['placed per second', `${r.throughput.placed_per_s} (${r.throughput.orders} orders, ${r.throughput.not_final} not final)`],
    ['CPU per order, all but the client', `${r.cpu_ms_per_order.all} ms`],
    ...Object.entries(r.cpu_ms_per_order).filter(([n]) => n !== 'all').map(([n, ms]): [string, string] => [`  ${n}`, `${ms} ms`]),
    ['commits per order', Object.entries(r.commits_per_order).map(([n, c]) => `${n} ${c}`).join(', ')],
    [`POST to final status, idle, p50 / p99 (${r.latency_ms.orders} orders)`, `${r.latency_ms.p50_ms} ms / ${r.latency_ms.p99_ms} ms`],
    ['  of which the POST, to its 201 (p50)', `${r.latency_ms.post_p50_ms} ms`],
    ...Object.entries(r.latency_ms.stages).map(([stage, ms]): [string, string] => [`  ${stage} (p50)`, `${ms} ms`]),
    ['RSS idle', Object.entries(r.rss_mb.idle).map(([n, mb]) => `${n} ${mb} MB`).join(', ')],
    ['RSS after the load', Object.entries(r.rss_mb.after_load).map(([n, mb]) => `${n} ${mb} MB`).join(', ')],
    ['start to first answer', Object.entries(r.start_ms).map(([n, ms]) => `${n} ${ms} ms`).join(', ')],
    ['Lambda artifact, unzipped', Object.entries(r.artifact_kb).map(([n, kb]) => `${n} ${kb}`).join(', ') + ' (KB)'],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  console.log(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n'));
  console.log(JSON.stringify(r));
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).stack ?? error}`);
  process.exit(1);
});
