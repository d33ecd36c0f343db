// Reading the chaos system from outside: its databases (straight to the server, not through the
// proxy), its API, and its queues. Used to wait until it has settled and to judge it afterwards.
import type { Attempt } from './clients.js';
import { cents, type LedgerRow, type Observed, type PaymentRow, type PurchaseRow, type WalletRow } from './checks.js';
import { query, queueDepths } from './system.js';

export interface Where {
  postgresUrl: string;
  amqpUrl: string;
  namespace: string;
  databases: { payments: string; orders: string };
  gatewayUrl: string;
}

/** Each table of a database: its row count and a checksum of all its rows. */
type Snapshot = Record<string, { rows: number; checksum: string }>;

export async function snapshot(where: Where, database: string): Promise<Snapshot> {
  const tables = await query<{ name: string }>(
    where.postgresUrl,
    database,
    "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
  );
  const result: Snapshot = {};
  for (const { name } of tables) {
    const quoted = `"${name.replaceAll('"', '""')}"`;
    const [row] = await query<{ rows: number; checksum: string | null }>(
      where.postgresUrl,
      database,
      `SELECT count(*)::int AS rows, md5(string_agg(t::text, '|' ORDER BY t::text)) AS checksum FROM ${quoted} t`,
    );
    result[name] = { rows: row!.rows, checksum: row!.checksum ?? '' };
  }
  return result;
}

/** The tables whose rows differ between two snapshots, with their counts. */
export function changedTables(before: Snapshot, after: Snapshot): string[] {
  const names = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...names]
    .filter((name) => before[name]?.checksum !== after[name]?.checksum || before[name]?.rows !== after[name]?.rows)
    .map((name) => `${name} (${before[name]?.rows ?? 'absent'} rows before, ${after[name]?.rows ?? 'absent'} after)`);
}

interface Backlog {
  newOrders: number;
  unsent: { payments: number; orders: number };
  queued: Record<string, number>;
}

async function backlog(where: Where): Promise<Backlog> {
  const count = async (database: string, sql: string) => (await query<{ n: number }>(where.postgresUrl, database, sql))[0]!.n;
  return {
    newOrders: await count(where.databases.orders, "SELECT count(*)::int AS n FROM purchases WHERE status = 'NEW'"),
    unsent: {
      payments: await count(where.databases.payments, 'SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL'),
      orders: await count(where.databases.orders, 'SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL'),
    },
    queued: await queueDepths(where.amqpUrl, where.namespace),
  };
}

const isSettled = (b: Backlog) => b.newOrders === 0 && b.unsent.payments === 0 && b.unsent.orders === 0 && Object.values(b.queued).every((n) => n === 0);

/** Waits until no order is NEW, no outbox row is unsent, no queue holds a message, and the API answers. */
export async function waitUntilSettled(where: Where, timeoutMs: number, answering: () => Promise<boolean>): Promise<{ settled: boolean; backlog: Backlog }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const current = await backlog(where).catch(() => undefined);
    if (current && isSettled(current) && (await answering())) return { settled: true, backlog: current };
    if (Date.now() > deadline) return { settled: false, backlog: current ?? (await backlog(where)) };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function mapConcurrently<T, R>(items: readonly T[], concurrency: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i]!);
      }
    }),
  );
  return results;
}

/** A GET, tried again for a few seconds while the answer is a 5xx or none. */
async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const answer = await fetch(url, { signal: AbortSignal.timeout(10_000) }).then(
      async (response) => ({ status: response.status, text: await response.text() }),
      () => ({ status: 0, text: '' }),
    );
    if ((answer.status > 0 && answer.status < 500) || Date.now() > deadline) {
      return { status: answer.status, body: answer.status === 200 ? (JSON.parse(answer.text) as Record<string, unknown>) : undefined };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Everything the checks need, from the databases and through the API. */
export async function observe(where: Where, attempts: readonly Attempt[], walletUsers: readonly number[]): Promise<Observed> {
  const { payments, orders } = where.databases;
  const purchases = (
    await query<{ id: string; user_id: string; amount: string; description: string; status: PurchaseRow['status']; reason: string | null }>(
      where.postgresUrl,
      orders,
      'SELECT id, user_id::text, amount::text, description, status, reason FROM purchases',
    )
  ).map((r) => ({ id: r.id, userId: Number(r.user_id), amountCents: cents(r.amount), description: r.description, status: r.status, reason: r.reason }));
  const wallets: WalletRow[] = (
    await query<{ user_id: string; balance: string }>(where.postgresUrl, payments, 'SELECT user_id::text, balance::text FROM wallets')
  ).map((r) => ({ userId: Number(r.user_id), balanceCents: cents(r.balance) }));
  const ledger: LedgerRow[] = (
    await query<{ user_id: string; kind: LedgerRow['kind']; amount: string; order_id: string | null }>(
      where.postgresUrl,
      payments,
      'SELECT user_id::text, kind, amount::text, order_id FROM ledger',
    )
  ).map((r) => ({ userId: Number(r.user_id), kind: r.kind, amountCents: cents(r.amount), orderId: r.order_id }));
  const paymentRows: PaymentRow[] = (
    await query<{ order_id: string; user_id: string; amount: string; status: PaymentRow['status'] }>(
      where.postgresUrl,
      payments,
      'SELECT order_id, user_id::text, amount::text, status FROM payments',
    )
  ).map((r) => ({ orderId: r.order_id, userId: Number(r.user_id), amountCents: cents(r.amount), status: r.status }));

  const walletIds = [...new Set(wallets.map((w) => w.userId))];
  const balances = await mapConcurrently(walletIds, 8, async (userId) => {
    const { body } = await getJson(`${where.gatewayUrl}/api/wallet/${userId}`);
    return [userId, typeof body?.balance === 'number' ? Math.round(body.balance * 100) : undefined] as const;
  });
  const orderIds = attempts.flatMap((a) => (a.kind === 'order' && a.orderId ? [a.orderId] : []));
  const statuses = await mapConcurrently(orderIds, 8, async (id) => {
    const { body } = await getJson(`${where.gatewayUrl}/api/purchase/${id}`);
    return [id, typeof body?.status === 'string' ? body.status : undefined] as const;
  });
  return {
    attempts,
    purchases,
    wallets,
    ledger,
    payments: paymentRows,
    walletUsers,
    apiBalances: new Map(balances),
    apiStatuses: new Map(statuses),
  };
}
