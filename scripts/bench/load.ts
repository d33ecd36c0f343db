// The load, as the page and its users make it: orders placed through the gateway, and their final
// status read from the status stream (Server-Sent Events), as the page sees it.
import http from 'node:http';
import { performance } from 'node:perf_hooks';

interface StatusEvent { id: string; status: string }

/** Follows GET /api/purchases/stream; calls `onStatus` for each order's final status. */
async function followStream(gatewayUrl: string, query: string, onStatus: (event: StatusEvent, at: number) => void): Promise<{ close(): void }> {
  const controller = new AbortController();
  const response = await fetch(`${gatewayUrl}/api/purchases/stream${query}`, { signal: controller.signal, headers: { accept: 'text/event-stream' } });
  if (!response.ok || !response.body) throw new Error(`the status stream answered ${response.status}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let ready!: () => void;
  let endedEarly!: (error: Error) => void;
  const isReady = new Promise<void>((resolve, reject) => ((ready = resolve), (endedEarly = reject)));
  void (async () => {
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      // A stream that ends before its `ready` event fails the run rather than leaving it waiting.
      if (done) return endedEarly(new Error('the status stream ended before it was ready'));
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const frame = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: (.*)$/m.exec(frame)?.[1];
        const data = /^data: (.*)$/m.exec(frame)?.[1];
        if (event === 'ready') ready();
        if (event === 'status' && data) onStatus(JSON.parse(data) as StatusEvent, performance.now());
      }
    }
  })();
  await isReady;
  return { close: () => controller.abort() };
}

// The clients' connections, kept alive: a load generator as light as can be, so that the machine's
// two cores go to the system it measures.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function post(url: string, body: unknown): Promise<{ status: number; json: { id?: string } }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as { id?: string } }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function createWallets(gatewayUrl: string, userIds: number[], amount: number): Promise<void> {
  await Promise.all(
    userIds.map(async (userId) => {
      const created = await post(`${gatewayUrl}/api/wallet/create`, { user_id: userId });
      if (created.status !== 201) throw new Error(`wallet ${userId}: ${created.status}`);
      const deposited = await post(`${gatewayUrl}/api/wallet/${userId}/deposit`, { amount });
      if (deposited.status !== 200) throw new Error(`deposit ${userId}: ${deposited.status}`);
    }),
  );
}

async function placeOrder(gatewayUrl: string, userId: number): Promise<string> {
  const placed = await post(`${gatewayUrl}/api/purchase`, { user_id: userId, amount: 1, description: 'bench' });
  if (placed.status !== 201 || !placed.json.id) throw new Error(`ordering: ${placed.status} ${JSON.stringify(placed.json)}`);
  return placed.json.id;
}

/** Waits until `check` holds, up to `timeoutMs`; false when it never did. */
async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return true;
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const tenth = (n: number) => Math.round(n * 10) / 10;

/** POST to final status on the stream, one order at a time, on an idle system. */
export async function measureLatency(gatewayUrl: string, userId: number, orders: number, warmUp: number) {
  const settledAt = new Map<string, number>();
  const stream = await followStream(gatewayUrl, `?user_id=${userId}`, (event, at) => settledAt.set(event.id, at));
  const latencies: number[] = [];
  const answered: number[] = [];
  const ids: string[] = [];
  try {
    for (let i = 0; i < warmUp + orders; i++) {
      const start = performance.now();
      const id = await placeOrder(gatewayUrl, userId);
      const created = performance.now();
      if (!(await until(() => settledAt.has(id), 30_000))) throw new Error(`order ${id} did not settle within 30 s`);
      if (i < warmUp) continue;
      latencies.push(settledAt.get(id)! - start);
      answered.push(created - start);
      ids.push(id);
    }
  } finally {
    stream.close();
  }
  latencies.sort((a, b) => a - b);
  answered.sort((a, b) => a - b);
  return {
    orders,
    p50_ms: tenth(percentile(latencies, 50)),
    p99_ms: tenth(percentile(latencies, 99)),
    max_ms: tenth(latencies.at(-1)!),
    /** The POST alone, to its 201 */
    post_p50_ms: tenth(percentile(answered, 50)),
    ids,
  };
}

/** `clients` users ordering as fast as they are answered for `seconds`; settled counts from the stream. */
export async function measureThroughput(gatewayUrl: string, userIds: number[], seconds: number) {
  const placed = new Set<string>();
  const settled = new Set<string>();
  let lastSettle = 0;
  const stream = await followStream(gatewayUrl, '', (event, at) => {
    settled.add(event.id);
    lastSettle = at;
  });
  const start = performance.now();
  const stopAt = start + seconds * 1000;
  try {
    await Promise.all(
      userIds.map(async (userId) => {
        while (performance.now() < stopAt) placed.add(await placeOrder(gatewayUrl, userId));
      }),
    );
    const placedMs = performance.now() - start;
    const allSettled = await until(() => [...placed].every((id) => settled.has(id)), 60_000);
    return {
      clients: userIds.length,
      seconds,
      orders: placed.size,
      placed_per_s: Math.round(placed.size / (placedMs / 1000)),
      settled_per_s: Math.round(placed.size / ((lastSettle - start) / 1000)),
      not_final: allSettled ? 0 : [...placed].filter((id) => !settled.has(id)).length,
      /** From the first order to the last settled one: the window the CPU figures cover */
      window_ms: Math.round(lastSettle - start),
    };
  } finally {
    stream.close();
  }
}
