// What the executable tests share: a running shop (the three services from their bundles, with
// databases and a broker namespace of the test file's own, on free ports), the built executables,
// and a way to run one and read the address it prints.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { deleteNamespace } from '../../test/support/broker.js';
import { amqpUrl, databaseUrl, dropDatabase, uniqueName } from '../../test/support/db.js';
import { freePort, startBundle, type ServiceProcess } from '../../test/support/processes.js';
import { api, waitFor, type Api } from '../../test/support/system.js';

export const linuxExe = 'dist/desktop/shop';
export const windowsExe = 'dist/desktop/Shop.exe';

export interface RunningSystem {
  gateway: string;
  stop(): Promise<void>;
}

export async function startSystem(prefix: string): Promise<RunningSystem> {
  const namespace = uniqueName(prefix);
  const ports = { payments: await freePort(), orders: await freePort(), gateway: await freePort() };
  const base = { AMQP_URL: amqpUrl, AMQP_NAMESPACE: namespace, LOG_LEVEL: 'warn', SCHEDULE_INTERVAL_MS: '1000' };
  const services: ServiceProcess[] = [
    startBundle(['dist/runner.mjs', 'payments'], { ...base, PORT: String(ports.payments), DATABASE_URL: databaseUrl(`${namespace}_payments`) }),
    startBundle(['dist/runner.mjs', 'orders'], { ...base, PORT: String(ports.orders), DATABASE_URL: databaseUrl(`${namespace}_orders`) }),
    startBundle(['dist/runner.mjs', 'gateway'], {
      ...base,
      PORT: String(ports.gateway),
      PAYMENTS_URL: `http://127.0.0.1:${ports.payments}`,
      ORDERS_URL: `http://127.0.0.1:${ports.orders}`,
    }),
  ];
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  await waitFor('the shop to answer through its gateway', async () => {
    const [wallet, purchases] = await Promise.all([fetch(`${gateway}/api/wallet/1`), fetch(`${gateway}/api/purchases`)]);
    return [200, 404].includes(wallet.status) && purchases.status === 200;
  }, 60_000);
  return {
    gateway,
    async stop() {
      await Promise.all(services.map((service) => service.stop()));
      await Promise.all([dropDatabase(`${namespace}_payments`), dropDatabase(`${namespace}_orders`), deleteNamespace(namespace)]);
    },
  };
}

export interface RunningApp {
  child: ChildProcess;
  /** What it printed so far, stdout and stderr together */
  output(): string;
  exited: Promise<number | string>;
}

/**
 * Starts an executable with its output going to `logFile` (under wine Node cannot write to a pipe)
 * and resolves with it once it printed its address; rejects with its output when it exits first.
 */
export async function startApp(command: string, args: string[], env: NodeJS.ProcessEnv, logFile: string): Promise<RunningApp & { url: string }> {
  const log = openSync(logFile, 'w');
  const child = spawn(command, args, { env, stdio: ['ignore', log, log] });
  closeSync(log);
  const output = () => readFileSync(logFile, 'utf8');
  let exitedEarly = false;
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => {
    exitedEarly = true;
    resolve(code ?? signal ?? -1);
  }));
  const url = await waitFor('the app to print its address', async () => {
    if (exitedEarly) throw new Error('exited');
    return /is serving the shop at (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output())?.[1];
  }, 60_000).catch((error: Error) => {
    child.kill('SIGKILL');
    throw new Error(`${command} did not start (${error.message}); it printed:\n${output()}`);
  });
  return { child, output, exited, url };
}

/** A wallet with money, an order placed through `through`, and the order once settled. */
export async function placePaidOrder(through: Api, userId: number): Promise<{ id: string; settled: { status: string } }> {
  if ((await through.post('/api/wallet/create', { user_id: userId })).status !== 201) throw new Error('the wallet was not created');
  if ((await through.post(`/api/wallet/${userId}/deposit`, { amount: 20 })).status !== 200) throw new Error('the deposit failed');
  const placed = await through.post('/api/purchase', { user_id: userId, amount: 12.5, description: 'A pair of socks' });
  if (placed.status !== 201) throw new Error(`the order was refused: ${JSON.stringify(placed.body)}`);
  const id = placed.body.id as string;
  const settled = await waitFor(`order ${id} to settle`, async () => {
    const { body } = await through.get(`/api/purchase/${id}`);
    return body.status === 'NEW' ? undefined : (body as { status: string });
  });
  return { id, settled };
}

/** Reads an event stream until `predicate` holds for what arrived, or `timeoutMs` passes. */
export async function readStream(url: string, predicate: (text: string) => boolean, started: () => Promise<void>, timeoutMs = 20_000): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const response = await fetch(url, { signal: controller.signal });
    if (response.headers.get('content-type')?.startsWith('text/event-stream') !== true) throw new Error(`not an event stream: ${response.status}`);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (!text.includes('event: ready')) text += decoder.decode((await reader.read()).value);
    await started();
    while (!predicate(text)) text += decoder.decode((await reader.read()).value);
    await reader.cancel();
    return text;
  } finally {
    clearTimeout(timer);
  }
}

export { api, waitFor, freePort };
