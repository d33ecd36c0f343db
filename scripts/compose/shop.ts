// What the compose run does with the shop once every container is healthy: the page and the API
// through nginx, a paid and a cancelled order, every service's /ready, and orders that keep coming
// while a payment worker is killed with SIGKILL; then whether any order was lost or paid twice, by
// the API and by the payments database inside the postgres container.
import { existsSync } from 'node:fs';
import type { Compose } from './compose.js';
import type { Engine } from './engine.js';
import { sleep, waitUntil } from './exec.js';
import { healthOf } from './health.js';

export interface Urls { web: string; gateway: string; payments: string; orders: string; management: string }

interface Answer { status: number; headers: Headers; text: string; body: any } // any: JSON of the API, read field by field

async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(15_000) });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: response.status, headers: response.headers, text, body };
}

const post = (url: string, body: unknown) => call(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
const decimal = (cents: number) => cents / 100;
const cents = (amount: number) => Math.round(amount * 100);

/** nginx on the web port answers as the gateway does, and compresses text. */
export async function webMatchesGateway(urls: Urls): Promise<string[]> {
  const violations: string[] = [];
  for (const path of ['/', '/docs', '/openapi.yaml', '/api/nothing']) {
    const [web, gateway] = await Promise.all([call(urls.web + path), call(urls.gateway + path)]);
    const shape = (a: Answer) => `${a.status} ${a.headers.get('content-type')}`;
    if (shape(web) !== shape(gateway) || web.text !== gateway.text) violations.push(`web port ${path}: ${shape(web)}, gateway: ${shape(gateway)}${web.text !== gateway.text ? ', bodies differ' : ''}`);
  }
  const spec = await fetch(`${urls.web}/openapi.yaml`, { headers: { 'accept-encoding': 'gzip' } });
  await spec.arrayBuffer();
  if (spec.headers.get('content-encoding') !== 'gzip') violations.push(`web port /openapi.yaml: not gzipped (content-encoding ${spec.headers.get('content-encoding')})`);
  return violations;
}

/** The status stream of one user, read as it arrives. */
function openStream(url: string): { text(): string; close(): void } {
  const abort = new AbortController();
  let text = '';
  void fetch(url, { signal: abort.signal })
    .then(async (response) => {
      const decoder = new TextDecoder();
      const reader = response.body!.getReader();
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) text += decoder.decode(chunk.value, { stream: true });
    })
    .catch(() => undefined);
  return { text: () => text, close: () => abort.abort() };
}

interface Order { id: string; userId: number; amountCents: number; status: string; reason: string | null }

async function settled(base: string, id: string, timeoutMs = 30_000): Promise<Order> {
  return waitUntil(
    `order ${id} to be paid or cancelled`,
    async () => {
      const { status, body } = await call(`${base}/api/purchase/${id}`);
      if (status !== 200 || body.status === 'NEW') return undefined;
      return { id, userId: body.user_id, amountCents: cents(body.amount), status: body.status, reason: body.reason };
    },
    timeoutMs,
    200,
  );
}

interface FirstOrders { paid: Order; cancelled: Order; balanceCents: number; streamed: boolean; violations: string[] }

/** Through the web port: a wallet, two deposits, an order it can pay and one it cannot. */
export async function firstOrders(urls: Urls, userId: number): Promise<FirstOrders> {
  const violations: string[] = [];
  const expect = (what: string, got: unknown, wanted: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(wanted)) violations.push(`${what}: got ${JSON.stringify(got)}, wanted ${JSON.stringify(wanted)}`);
  };
  const stream = openStream(`${urls.web}/api/purchases/stream?user_id=${userId}`);
  try {
    expect('POST /api/wallet/create', (await post(`${urls.web}/api/wallet/create`, { user_id: userId })).status, 201);
    for (const amount of [7.1, 2.9]) expect(`deposit ${amount}`, (await post(`${urls.web}/api/wallet/${userId}/deposit`, { amount })).status, 200);
    expect('balance after 7.10 + 2.90', (await call(`${urls.web}/api/wallet/${userId}`)).body?.balance, 10);
    const placed = await Promise.all(
      [
        { amount: 4.2, description: 'A teapot' },
        { amount: 100, description: 'A boat' },
      ].map((order) => post(`${urls.web}/api/purchase`, { user_id: userId, ...order })),
    );
    for (const answer of placed) expect('POST /api/purchase', [answer.status, answer.body?.status], [201, 'NEW']);
    const [paid, cancelled] = await Promise.all(placed.map((a) => settled(urls.web, a.body.id)));
    expect('the order of 4.20', [paid!.status, paid!.reason], ['FINISHED', null]);
    expect('the order of 100.00', [cancelled!.status, cancelled!.reason], ['CANCELLED', 'insufficient_funds']);
    const balanceCents = cents((await call(`${urls.web}/api/wallet/${userId}`)).body?.balance);
    expect('balance after paying 4.20', balanceCents, 580);
    const streamed = await waitUntil('both orders on the status stream', async () => [paid!.id, cancelled!.id].every((id) => stream.text().includes(id)), 10_000, 100).catch(() => false);
    if (!streamed) violations.push(`the status stream through nginx did not carry both orders; it sent: ${JSON.stringify(stream.text().slice(0, 300))}`);
    return { paid: paid!, cancelled: cancelled!, balanceCents, streamed, violations };
  } finally {
    stream.close();
  }
}

interface Readiness { lines: string[]; violations: string[] }

/** /ready of the services with a port here, and inside each worker container; the broker's management API. */
export async function readiness(urls: Urls, compose: Compose): Promise<Readiness> {
  const lines: string[] = [];
  const violations: string[] = [];
  for (const service of ['payments', 'orders', 'gateway'] as const) {
    const ready = await call(`${urls[service]}/ready`).catch((error: Error) => ({ status: 0, text: error.message }) as Answer);
    (ready.status === 200 ? lines : violations).push(`${service} /ready ${ready.status}${ready.status === 200 ? '' : `: ${ready.text.slice(0, 200)}`}`);
  }
  for (const service of ['payments-worker', 'orders-worker']) {
    for (const { index } of await compose.containers(service)) {
      const checked = await compose.exec(service, ['node', 'healthcheck.mjs', '/ready'], index).then(
        () => 'ok',
        (error: Error) => error.message,
      );
      (checked === 'ok' ? lines : violations).push(`${service}_${index} /ready ${checked === 'ok' ? '200 (inside)' : checked}`);
    }
  }
  const auth = `Basic ${Buffer.from('shop:shop').toString('base64')}`;
  const overview = await call(`${urls.management}/api/overview`, { headers: { authorization: auth } }).catch((error: Error) => ({ status: 0, text: error.message }) as Answer);
  if (overview.status === 200) lines.push(`rabbitmq management 200 as shop (RabbitMQ ${overview.body?.rabbitmq_version})`);
  else violations.push(`rabbitmq management /api/overview as shop: ${overview.status} ${overview.text.slice(0, 200)}`);
  return { lines, violations };
}

/** A container's main process killed with SIGKILL as a crash would (its restart policy applies); the engine's kill otherwise. */
async function crash(engine: Engine, id: string): Promise<string> {
  const pid = Number((await engine.cli(['inspect', '--format', '{{.State.Pid}}', id])).stdout.trim());
  if (pid > 0 && existsSync(`/proc/${pid}`)) {
    process.kill(pid, 'SIGKILL');
    return `SIGKILL to its process (pid ${pid} here)`;
  }
  await engine.cli(['kill', '--signal', 'KILL', id]);
  return 'SIGKILL through the engine';
}

interface KillRun {
  placed: number;
  acknowledged: number;
  finished: number;
  cancelled: number;
  lost: number;
  paidTwice: number;
  killed: string;
  killedAfter: number;
  restarted: string;
  database: string;
  violations: string[];
}

interface KillOptions { orders: number; users: number[]; depositCents: number; killAfter: number; concurrency: number }

/** Orders for several users through the web port; a payment worker killed after `killAfter` of them. */
export async function ordersThroughAKill(urls: Urls, compose: Compose, engine: Engine, options: KillOptions): Promise<KillRun> {
  const violations: string[] = [];
  for (const user of options.users) {
    const created = await post(`${urls.web}/api/wallet/create`, { user_id: user });
    const deposited = await post(`${urls.web}/api/wallet/${user}/deposit`, { amount: decimal(options.depositCents) });
    if (created.status !== 201 || deposited.status !== 200) throw new Error(`wallet ${user}: create ${created.status}, deposit ${deposited.status}: ${deposited.text}`);
  }
  const [victim] = await compose.containers('payments-worker');
  if (!victim) throw new Error('no payments-worker container runs');
  const startsBefore = Number((await engine.cli(['inspect', '--format', '{{.RestartCount}}', victim.id])).stdout.trim()) || 0;

  const acknowledged = new Map<string, { userId: number; amountCents: number }>();
  let next = 0;
  let killed = '';
  let killedAfter = 0;
  const place = async () => {
    while (next < options.orders) {
      const i = next++;
      const userId = options.users[i % options.users.length]!;
      const amountCents = 100 + ((i * 7919) % 1400);
      const answer = await post(`${urls.web}/api/purchase`, { user_id: userId, amount: decimal(amountCents), description: `compose run order ${i}` }).catch(
        (error: Error) => ({ status: 0, text: error.message }) as Answer,
      );
      if (answer.status === 201) acknowledged.set(answer.body.id, { userId, amountCents });
      else violations.push(`order ${i}: ${answer.status} ${answer.text.slice(0, 200)}`);
      if (acknowledged.size >= options.killAfter && !killed) {
        killed = `${victim.name}: pending`;
        killedAfter = acknowledged.size;
        killed = `${victim.name}, ${await crash(engine, victim.id)}`;
      }
      await sleep(50);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, place));

  // Every acknowledged order paid or cancelled, by the API.
  const byUser = async () => {
    const orders = new Map<string, Order>();
    for (const user of options.users) {
      const { status, body } = await call(`${urls.gateway}/api/purchases?user_id=${user}&limit=100`);
      if (status !== 200) throw new Error(`GET /api/purchases?user_id=${user}: ${status}`);
      for (const p of body.purchases) orders.set(p.id, { id: p.id, userId: p.user_id, amountCents: cents(p.amount), status: p.status, reason: p.reason });
    }
    return orders;
  };
  let orders = await byUser();
  await waitUntil('every order to be paid or cancelled', async () => {
    orders = await byUser();
    return [...acknowledged.keys()].every((id) => orders.get(id) && orders.get(id)!.status !== 'NEW');
  }, 120_000).catch((error: Error) => violations.push(error.message));
  const lost = [...acknowledged.keys()].filter((id) => !orders.has(id) || orders.get(id)!.status === 'NEW');
  const unexpected = [...orders.keys()].filter((id) => !acknowledged.has(id));
  if (lost.length) violations.push(`${lost.length} acknowledged order(s) never paid or cancelled, e.g. ${lost[0]}`);
  if (unexpected.length) violations.push(`${unexpected.length} order(s) nobody placed, e.g. ${unexpected[0]}`);
  const finished = [...orders.values()].filter((o) => acknowledged.has(o.id) && o.status === 'FINISHED');
  const cancelled = [...orders.values()].filter((o) => acknowledged.has(o.id) && o.status === 'CANCELLED');
  for (const o of cancelled) if (o.reason !== 'insufficient_funds') violations.push(`order ${o.id} cancelled for ${o.reason}`);
  for (const user of options.users) {
    const balance = cents((await call(`${urls.gateway}/api/wallet/${user}`)).body?.balance);
    const paid = finished.filter((o) => o.userId === user).reduce((sum, o) => sum + o.amountCents, 0);
    if (balance !== options.depositCents - paid) violations.push(`wallet ${user}: balance ${decimal(balance)}, deposited ${decimal(options.depositCents)} less paid ${decimal(paid)}`);
  }

  // The same, by the payments database: one outcome per order, the ledger debited once per paid order.
  const users = options.users.join(',');
  const sql = (database: string, query: string) => compose.exec('postgres', ['psql', '-U', 'shop', '-d', database, '-At', '-F', ' ', '-c', query]).then((r) => r.stdout.trim());
  const outcomes = new Map(
    (await sql('shop_payments', `SELECT order_id, status FROM payments WHERE user_id IN (${users})`))
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' ') as [string, string]),
  );
  const paidTwice = Number(await sql('shop_payments', "SELECT count(*) FROM (SELECT order_id FROM ledger WHERE kind = 'payment' GROUP BY order_id HAVING count(*) > 1) twice"));
  const ledgerOff = Number(await sql('shop_payments', 'SELECT count(*) FROM wallets w WHERE w.balance <> (SELECT COALESCE(sum(l.amount), 0) FROM ledger l WHERE l.user_id = w.user_id)'));
  const debits = Number(await sql('shop_payments', `SELECT count(*) FROM ledger WHERE kind = 'payment' AND user_id IN (${users})`));
  if (paidTwice) violations.push(`${paidTwice} order(s) debited more than once in the ledger`);
  if (ledgerOff) violations.push(`${ledgerOff} wallet(s) whose balance is not the sum of their ledger`);
  if (debits !== finished.length) violations.push(`${debits} debits in the ledger for ${finished.length} FINISHED orders`);
  for (const o of [...finished, ...cancelled]) {
    const wanted = o.status === 'FINISHED' ? 'succeeded' : 'refused';
    if (outcomes.get(o.id) !== wanted) violations.push(`order ${o.id} is ${o.status} but its payment is ${outcomes.get(o.id) ?? 'missing'}`);
  }
  if (outcomes.size !== acknowledged.size) violations.push(`${outcomes.size} payment outcomes for ${acknowledged.size} orders`);

  // The killed worker is back, by its restart policy.
  const restarted = await waitUntil(
    `${victim.name} to restart and be healthy`,
    async () => {
      const inspected = (await engine.cli(['inspect', '--format', '{{.RestartCount}}\t{{.State.Status}}', victim.id])).stdout.trim().split('\t');
      const state = (await engine.cli(['ps', '--filter', `id=${victim.id}`, '--format', '{{.Status}}'])).stdout.trim();
      return Number(inspected[0]) > startsBefore && healthOf(state) === 'healthy' ? `restarted by its restart policy (unless-stopped), healthy again` : undefined;
    },
    90_000,
    1_000,
  ).catch((error: Error) => {
    violations.push(error.message);
    return 'not restarted';
  });

  return {
    placed: options.orders,
    acknowledged: acknowledged.size,
    finished: finished.length,
    cancelled: cancelled.length,
    lost: lost.length,
    paidTwice,
    killed,
    killedAfter,
    restarted,
    database: `${outcomes.size} payment outcomes, ${debits} ledger debits, ${paidTwice} orders debited twice, ${ledgerOff} wallets off their ledger`,
    violations,
  };
}

/** A service's healthcheck fails once what it needs is gone: the gateway's, with payments stopped. */
export async function healthcheckFailsWithoutPayments(compose: Compose): Promise<string | undefined> {
  await compose.must(['stop', '--timeout', '15', 'payments'], { timeoutMs: 60_000 });
  const checked = await compose.run(['exec', '-T', 'gateway', 'node', 'healthcheck.mjs', '/ready'], { timeoutMs: 60_000 });
  return checked.code === 1 ? undefined : `the gateway's healthcheck exited ${checked.code} with payments stopped (wanted 1): ${checked.stdout}${checked.stderr}`;
}
