// All SQL of the orders service, each statement on the pool or transaction it is given.
import { coalesce } from '../lib/coalesce.js';
import { isPool, query, statement, type Db, type Sql, type Tx } from '../lib/db.js';
import type { OrderStatus } from '../lib/messages.js';
import { toDecimal, type Cents } from '../lib/money.js';
import type { PurchaseRow, Settlement } from './order.js';

export interface NewPurchase {
  id: string;
  userId: number;
  amount: Cents;
  description: string;
}

// Purchases and their payment requests in one statement: all or none.
const insertPurchases = statement<PurchaseRow>(
  'orders.create-purchases',
  `WITH input AS (
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::numeric[], $4::text[]) WITH ORDINALITY AS t(id, user_id, amount, description, position)
   ), purchase AS (
     INSERT INTO purchases (id, user_id, amount, description) SELECT id, user_id, amount, description FROM input ORDER BY position RETURNING *
   ), message AS (
     INSERT INTO outbox (type, correlation_id, payload)
     SELECT 'order.payment_requested', id, jsonb_build_object('order_id', id, 'user_id', user_id, 'amount', amount::text) FROM purchase
   )
   SELECT * FROM purchase`,
);

export async function createPurchases(sql: Sql, purchases: NewPurchase[]): Promise<PurchaseRow[]> {
  const rows = await insertPurchases(sql, [
    purchases.map((p) => p.id),
    purchases.map((p) => p.userId),
    purchases.map((p) => toDecimal(p.amount)),
    purchases.map((p) => p.description),
  ]);
  const byId = new Map(rows.map((row) => [row.id, row]));
  return purchases.map((p) => byId.get(p.id)!);
}

const placedTogether = new WeakMap<Db, (purchase: NewPurchase) => Promise<PurchaseRow>>();

/**
 * A purchase and its payment request, written by one statement. On the pool, purchases placed at
 * the same moment share that statement and its commit; in a transaction it is written there.
 */
export async function createPurchase(sql: Sql, purchase: NewPurchase): Promise<PurchaseRow> {
  if (!isPool(sql)) return (await createPurchases(sql, [purchase]))[0]!;
  let place = placedTogether.get(sql);
  if (!place) placedTogether.set(sql, (place = coalesce((batch) => createPurchases(sql, batch), 100)));
  return place(purchase);
}

const selectPurchase = statement<PurchaseRow>('orders.get-purchase', 'SELECT * FROM purchases WHERE id = $1');

export async function getPurchase(sql: Sql, id: string): Promise<PurchaseRow | undefined> {
  return (await selectPurchase(sql, [id]))[0];
}

export interface PurchaseFilter {
  userId?: number;
  status?: OrderStatus;
  /** Only purchases older than this sequence number */
  before?: string;
  limit: number;
}

/** Newest first; only the filters given narrow the list (each its own condition, so each uses its index). */
export async function listPurchases(sql: Sql, { userId, status, before, limit }: PurchaseFilter): Promise<PurchaseRow[]> {
  const values: unknown[] = [limit];
  const filters: [string, unknown][] = [['user_id =', userId], ['status =', status], ['seq <', before]];
  const conditions = filters.flatMap(([condition, value]) => (value === undefined ? [] : [`${condition} $${values.push(value)}`]));
  const where = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  return query<PurchaseRow>(sql, `SELECT * FROM purchases ${where} ORDER BY seq DESC LIMIT $1`, values);
}

// In the order of their ids, so that consumers locking overlapping orders never deadlock.
const lockPurchaseRows = statement<{ id: string; status: OrderStatus }>(
  'orders.lock-purchases',
  'SELECT id, status FROM purchases WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE',
);

/** Locks the purchases (those that exist) until the transaction ends; resolves with their statuses. */
export async function lockPurchases(tx: Tx, ids: string[]): Promise<Map<string, OrderStatus>> {
  return new Map((await lockPurchaseRows(tx, [ids])).map((r) => [r.id, r.status]));
}

// One statement for the whole batch: every settlement and its order.status_changed message.
const writeSettlements = statement(
  'orders.record-settlements',
  `WITH input AS (
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[]) WITH ORDINALITY AS t(id, status, reason, position)
   ), settled AS (
     UPDATE purchases SET status = input.status, reason = input.reason, updated_at = now()
       FROM input WHERE purchases.id = input.id
     RETURNING purchases.id, purchases.user_id, purchases.amount, purchases.status, purchases.reason, purchases.updated_at, input.position
   )
   INSERT INTO outbox (type, correlation_id, payload)
   SELECT 'order.status_changed', id,
          jsonb_build_object('order_id', id, 'user_id', user_id, 'amount', amount::text, 'status', status, 'reason', reason,
                             'updated_at', to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
     FROM settled ORDER BY position`,
);

export async function recordSettlements(tx: Tx, settlements: (Settlement & { orderId: string })[]): Promise<void> {
  await writeSettlements(tx, [settlements.map((s) => s.orderId), settlements.map((s) => s.status), settlements.map((s) => s.reason)]);
}
