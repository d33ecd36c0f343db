// `npm run chaos [-- --seed N --duration S --orders-per-second R --json FILE --bad-inputs N]`: starts
// its own copy of Shop from the bundles, places orders and deposits through it while a seeded
// schedule of faults hits every process, the broker and PostgreSQL, sends it thousands of bad
// requests, and once it has settled checks that nothing was lost, doubled, stuck, created or
// destroyed. Prints a scoreboard, writes it as JSON, exits 1 on any violation. Longer than most
// files: the run's phases, one after the other, read top to bottom here.
import { randomBytes, randomInt } from 'node:crypto';
import { cpSync, existsSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { names, queueBindings } from '../functions/lib/topology.js';
import { manifest } from '../infra/manifest.js';
import { badRequests, sendBadRequests } from './chaos/badInput.js';
import { judge } from './chaos/checks.js';
import { Clients } from './chaos/clients.js';
import { runFaults, type Injected } from './chaos/faults.js';
import { changedTables, observe, snapshot, waitUntilSettled, type Where } from './chaos/observe.js';
import { faultLabel, planFaults } from './chaos/plan.js';
import { seeded, type Random } from './chaos/random.js';
import { renderScoreboard, type Report } from './chaos/scoreboard.js';
import { deleteNamespace, dropDatabases, startSystem, type ChaosSystem } from './chaos/system.js';
import { listDeadLetters } from './lib/deadLetters.js';

export const usage = `usage: npm run chaos -- [--seed N] [--duration S] [--orders-per-second R] [--json FILE] [--bad-inputs N]

  --seed N               the schedule, users and amounts (default: a random seed, printed)
  --duration S           seconds of faults and traffic (default 45; a consumer is frozen only from 35)
  --orders-per-second R  orders placed per second, plus a deposit for every four (default 20)
  --json FILE            where the report goes (default chaos-report.json)
  --bad-inputs N         requests of the bad-input phase (default 10000)

  environment: CHAOS_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432), AMQP_URL (default amqp://guest:guest@127.0.0.1:5672)`;

export interface ChaosOptions {
  seed: number;
  durationS: number;
  ordersPerSecond: number;
  jsonPath: string;
  badInputs: number;
  settleTimeoutS: number;
  postgresUrl: string;
  amqpUrl: string;
}

export class UsageError extends Error {}

export function parseChaosArgs(argv: readonly string[], env: Record<string, string | undefined> = process.env): ChaosOptions {
  const options: ChaosOptions = {
    seed: randomInt(1, 2 ** 31),
    durationS: 45,
    ordersPerSecond: 20,
    jsonPath: 'chaos-report.json',
    badInputs: 10_000,
    settleTimeoutS: 90,
    postgresUrl: env.CHAOS_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432',
    amqpUrl: env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672',
  };
  const number = (flag: string, text: string | undefined, min: number, max: number, integer = true) => {
    const value = Number(text);
    if (text === undefined || text === '' || !Number.isFinite(value) || (integer && !Number.isInteger(value)) || value < min || value > max) {
      throw new UsageError(`${flag} needs ${integer ? 'an integer' : 'a number'} from ${min} to ${max}, got ${text === undefined ? 'nothing' : `"${text}"`}`);
    }
    return value;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    i += 1;
    if (flag === '--seed') options.seed = number(flag, value, 0, 2 ** 32 - 1);
    else if (flag === '--duration') options.durationS = number(flag, value, 5, 3_600);
    else if (flag === '--orders-per-second') options.ordersPerSecond = number(flag, value, 0.1, 1_000, false);
    else if (flag === '--bad-inputs') options.badInputs = number(flag, value, 0, 1_000_000);
    else if (flag === '--json') {
      if (!value || value.startsWith('--')) throw new UsageError('--json needs a file name');
      options.jsonPath = value;
    } else throw new UsageError(`unknown option "${flag}"`);
  }
  return options;
}

/** Wallets the run opens, and users that have none (their orders are cancelled: wallet_not_found). */
const walletCount = 12;
const walletlessCount = 4;
const initialDepositCents = 100_00;
/** A consumer is frozen this long: two heartbeats (10 s each) and then some. */
const freezeS = 25;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Orders (and a deposit for every four) at a steady rate, each attempt on its own, until the end. */
async function placeTraffic(clients: Clients, random: Random, ordersPerSecond: number, durationS: number): Promise<void> {
  const walletUsers = Array.from({ length: walletCount }, (_, i) => i + 1);
  const walletless = Array.from({ length: walletlessCount }, (_, i) => walletCount + i + 1);
  const startedAt = Date.now();
  const total = Math.floor(ordersPerSecond * durationS);
  for (let i = 0; i < total; i++) {
    await sleep(Math.max(0, startedAt + (i * 1000) / ordersPerSecond - Date.now()));
    const user = random.next() < 0.9 ? random.pick(walletUsers) : random.pick(walletless);
    clients.order(user, random.int(1, 10_00));
    if (i % 4 === 3) clients.deposit(random.pick(walletUsers), random.int(1_00, 30_00));
  }
}

/** The bad requests, on a quiet system: any change in the tables is their doing. */
async function badInputPhase(where: Where, options: ChaosOptions): Promise<Report['badInput']> {
  const routes = manifest.flatMap((fn) => fn.http);
  const databases = [where.databases.payments, where.databases.orders];
  const before = await Promise.all(databases.map((d) => snapshot(where, d)));
  const report = await sendBadRequests(where.gatewayUrl, badRequests(routes, options.badInputs, options.seed));
  const after = await Promise.all(databases.map((d) => snapshot(where, d)));
  return { ...report, stateChanges: databases.flatMap((d, i) => changedTables(before[i]!, after[i]!).map((t) => `${d}.${t}`)) };
}

function badInputViolations(b: Report['badInput']): string[] {
  const example = (test: (status: number | 'no answer') => boolean) => JSON.stringify(b.examples.find((e) => test(e.status)));
  return [
    ...(b.serverErrors ? [`bad input: ${b.serverErrors} request(s) got a 5xx, e.g. ${example((s) => typeof s === 'number' && s >= 500)}`] : []),
    ...(b.noAnswer ? [`bad input: ${b.noAnswer} request(s) got no answer, e.g. ${example((s) => s === 'no answer')}`] : []),
    ...(b.accepted ? [`bad input: ${b.accepted} request(s) were accepted, e.g. ${example((s) => typeof s === 'number' && s < 300)}`] : []),
    ...b.stateChanges.map((t) => `bad input changed ${t}`),
  ];
}

function log(line: string): void {
  process.stderr.write(`chaos: ${line}\n`);
}

export async function runChaos(options: ChaosOptions): Promise<Report> {
  const started = Date.now();
  const namespace = `chaos_${randomBytes(4).toString('hex')}`;
  const logDir = resolve('test-output', 'chaos', namespace);
  if (!existsSync(`${import.meta.dirname}/runner.mjs`)) throw new Error(`${import.meta.dirname}/runner.mjs is missing: run npm run build first`);
  // The run's own copy of the bundles: a build meanwhile (it empties dist/) must not pull them away.
  const distDir = `${logDir}/dist`;
  cpSync(import.meta.dirname, distDir, { recursive: true });
  const random = seeded(options.seed);
  const notes = [
    'PostgreSQL is shared with others on this machine, so its "restart" is simulated: its proxy is cut (every connection dropped, new ones refused) and restored',
    'RabbitMQ "stopped and started" the same way, through its proxy',
  ];
  log(`seed ${options.seed}; namespace ${namespace}; logs in ${logDir}`);

  let system: ChaosSystem | undefined;
  const cleanUp = async () => {
    await system?.stop().catch(() => undefined);
    await dropDatabases(options.postgresUrl, [`${namespace}_payments`, `${namespace}_orders`]).catch((error: unknown) => log(`could not drop the databases: ${String(error)}`));
    await deleteNamespace(options.amqpUrl, namespace).catch((error: unknown) => log(`could not delete the broker names: ${String(error)}`));
    rmSync(distDir, { recursive: true, force: true });
  };
  const interrupted = () => {
    log('interrupted: cleaning up');
    void cleanUp().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    system = await startSystem({ namespace, postgresUrl: options.postgresUrl, amqpUrl: options.amqpUrl, distDir, logDir, manifest });
    const where: Where = { postgresUrl: options.postgresUrl, amqpUrl: options.amqpUrl, namespace, databases: system.databases, gatewayUrl: system.gatewayUrl };
    log(`system up at ${system.gatewayUrl} with ${system.processes.length} processes`);

    const clients = new Clients(system.gatewayUrl, namespace, Date.now() + 60_000);
    const walletUsers = Array.from({ length: walletCount }, (_, i) => i + 1);
    for (const user of walletUsers) clients.createWallet(user);
    await clients.drain();
    for (const user of walletUsers) clients.deposit(user, initialDepositCents);
    await clients.drain();

    log(`bad-input phase: ${options.badInputs} requests`);
    const badInput = await badInputPhase(where, options);

    // Faults, while the clients order and deposit.
    const n = names(namespace);
    const plan = planFaults({
      seed: options.seed,
      durationS: options.durationS,
      processes: system.processes.map((p) => p.spec.name),
      consumers: system.processes.filter((p) => p.spec.role === 'consumer').map((p) => p.spec.name),
      queues: Object.keys(queueBindings).map((q) => n.queue(q)),
      pauseS: freezeS,
    });
    notes.push(...plan.notes);
    const poison: { queue: string; messageId: string }[] = [];
    log(`fault phase: ${options.durationS} s, ${plan.faults.length} faults`);
    const phaseStart = Date.now();
    clients.setGiveUpAt(phaseStart + (options.durationS + options.settleTimeoutS) * 1000);
    const [injected] = await Promise.all([
      runFaults(plan.faults, { system, postgresUrl: options.postgresUrl, amqpUrl: options.amqpUrl, namespace, onPoison: (queue, messageId) => poison.push({ queue, messageId }), log }, phaseStart),
      placeTraffic(clients, random, options.ordersPerSecond, options.durationS),
    ]);
    const lastFaultUndone = phaseStart + Math.max(0, ...injected.map((f: Injected) => f.endedS)) * 1000;

    log('faults over: waiting for the clients and for the system to settle');
    await clients.drain();
    const settle = await waitUntilSettled(where, Math.max(5_000, lastFaultUndone + options.settleTimeoutS * 1000 - Date.now()), system.answering);
    const settledAt = Date.now();

    log('checking');
    const verdict = judge(await observe(where, clients.attempts, walletUsers));
    const deadLetters = (await listDeadLetters({ url: options.amqpUrl, namespace })).flatMap((l) => l.messages.map((m) => ({ queue: l.deadLetterQueue, ...m })));
    const poisonFound = poison.filter((p) => deadLetters.some((d) => d.messageId === p.messageId && d.queue === `${p.queue}.dead` && d.reason === 'rejected'));
    const unexpected = deadLetters.filter((d) => !poison.some((p) => p.messageId === d.messageId));

    const violations = [
      ...verdict.violations,
      ...(settle.settled ? [] : [`not settled ${options.settleTimeoutS} s after the last fault: ${JSON.stringify(settle.backlog)}`]),
      ...poison.filter((p) => !poisonFound.includes(p)).map((p) => `poison: ${p.messageId} published to ${p.queue} is not in its dead-letter queue`),
      ...unexpected.slice(0, 5).map((d) => `dead letter: ${d.type ?? '?'} ${d.messageId} (order ${d.orderId}) in ${d.queue}, ${d.reason} after ${d.deaths} death(s)`),
      ...badInputViolations(badInput),
      ...system.unexpectedExits.map((e) => `process ${e.process} exited on its own (${e.code}) at ${e.at}`),
    ];

    const byKind: Record<string, number> = {};
    for (const f of injected) byKind[faultLabel(f)] = (byKind[faultLabel(f)] ?? 0) + 1;
    return {
      seed: options.seed,
      namespace,
      startedAt: new Date(started).toISOString(),
      options: { durationS: options.durationS, ordersPerSecond: options.ordersPerSecond, badInputs: options.badInputs, settleTimeoutS: options.settleTimeoutS },
      orders: verdict.orders,
      deposits: verdict.deposits,
      money: verdict.money,
      payments: verdict.payments,
      faults: { byKind, injected },
      settle: { settled: settle.settled, secondsAfterLastFault: settle.settled ? Math.round((settledAt - lastFaultUndone) / 100) / 10 : null, backlog: settle.backlog },
      deadLetters: { poisonPublished: poison.length, poisonDeadLettered: poisonFound.length, unexpected },
      badInput,
      processes: {
        restarts: Object.fromEntries(system.processes.map((p) => [p.spec.name, p.starts - 1])),
        unexpectedExits: system.unexpectedExits,
      },
      notes,
      logs: logDir,
      violations,
      seconds: Math.round((Date.now() - started) / 1000),
    };
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await cleanUp();
  }
}

export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  let options: ChaosOptions;
  try {
    options = parseChaosArgs(argv);
  } catch (error) {
    console.error(`chaos: ${(error as Error).message}\n\n${usage}`);
    return 2;
  }
  try {
    const report = await runChaos(options);
    writeFileSync(options.jsonPath, `${JSON.stringify(report, null, 2)}\n`);
    console.log(renderScoreboard(report));
    console.log(`report: ${options.jsonPath}; run it again with --seed ${report.seed}`);
    return report.violations.length ? 1 : 0;
  } catch (error) {
    console.error(`chaos: the run failed: ${(error as Error).stack ?? String(error)}`);
    return 1;
  }
}

const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(realpathSync(entry)).href) process.exitCode = await main(process.argv.slice(2));
