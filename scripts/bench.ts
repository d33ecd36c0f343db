// `npm run bench`: places orders through the gateway of a running system and prints how fast they
// settle. Latency: 100 orders one at a time, from POST to the final status. Throughput: 32 clients
// ordering at once for a while; orders/s counts orders that reached their final status.
import { performance } from 'node:perf_hooks';

const base = process.env.BENCH_URL ?? 'http://127.0.0.1:8005';
const latencyOrders = Number(process.env.BENCH_LATENCY_ORDERS ?? 100);
const clients = Number(process.env.BENCH_CLIENTS ?? 32);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const settleTimeoutMs = 60_000;

async function request(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const response = await fetch(base + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : undefined };
}

async function wallet(userId: number, amount: number): Promise<void> {
  const created = await request('POST', '/api/wallet/create', { user_id: userId });
  if (created.status !== 201) throw new Error(`creating wallet ${userId}: ${created.status} ${JSON.stringify(created.json)}`);
  await request('POST', `/api/wallet/${userId}/deposit`, { amount });
}

async function order(userId: number): Promise<string> {
  const placed = await request('POST', '/api/purchase', { user_id: userId, amount: 1, description: 'bench' });
  if (placed.status !== 201) throw new Error(`ordering: ${placed.status} ${JSON.stringify(placed.json)}`);
  return placed.json.id as string;
}

async function untilFinal(id: string): Promise<string> {
  const deadline = performance.now() + settleTimeoutMs;
  while (performance.now() < deadline) {
    const { json } = await request('GET', `/api/purchase/${id}`);
    if (json.status !== 'NEW') return json.status as string;
  }
  return 'NEW';
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (n: number) => Math.round(n * 10) / 10;

async function main(): Promise<void> {
  const run = Date.now() % 1_000_000_000;
  const firstUser = run * 100;

  // Latency on an idle system.
  await wallet(firstUser, 1_000_000);
  for (let i = 0; i < 5; i++) await untilFinal(await order(firstUser)); // warm-up
  const latencies: number[] = [];
  for (let i = 0; i < latencyOrders; i++) {
    const start = performance.now();
    const status = await untilFinal(await order(firstUser));
    if (status === 'NEW') throw new Error('an order did not settle within a minute');
    latencies.push(performance.now() - start);
  }
  latencies.sort((a, b) => a - b);

  // Sustained throughput: each client orders on its own wallet as fast as it is answered.
  const users = Array.from({ length: clients }, (_, i) => firstUser + 1 + i);
  await Promise.all(users.map((u) => wallet(u, 1_000_000)));
  const ids: string[] = [];
  const start = performance.now();
  const stopAt = start + seconds * 1000;
  await Promise.all(
    users.map(async (u) => {
      while (performance.now() < stopAt) ids.push(await order(u));
    }),
  );
  const placedMs = performance.now() - start;
  // Wait for the last order to settle with a light poll per wallet, so the measurement does not
  // compete with the work it measures.
  const deadline = performance.now() + settleTimeoutMs;
  let settledMs = 0;
  for (const u of users) {
    while (performance.now() < deadline) {
      const { json } = await request('GET', `/api/purchases?user_id=${u}&status=NEW&limit=1`);
      if (json.purchases.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    settledMs = performance.now() - start;
  }
  const { json: left } = await request('GET', `/api/purchases?status=NEW&limit=100`);
  const stuck = (left.purchases as { user_id: number }[]).filter((p) => users.includes(p.user_id)).length;

  const result = {
    latency_ms: { orders: latencyOrders, p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(latencies.at(-1)!) },
    throughput: {
      clients,
      orders: ids.length,
      placed_per_s: Math.round(ids.length / (placedMs / 1000)),
      settled_per_s: Math.round(ids.length / (settledMs / 1000)),
      not_final: stuck,
    },
  };
  console.log(`latency, POST to final status, ${latencyOrders} orders one at a time: p50 ${result.latency_ms.p50} ms, p99 ${result.latency_ms.p99} ms`);
  console.log(`throughput, ${clients} clients for ${seconds} s: ${result.throughput.orders} orders, ${result.throughput.placed_per_s} placed/s, ${result.throughput.settled_per_s} settled/s, ${stuck} not final`);
  console.log(JSON.stringify(result));
  if (stuck > 0) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(`bench failed: ${(error as Error).message} (is the system running at ${base}? npm start)`);
  process.exit(1);
});
