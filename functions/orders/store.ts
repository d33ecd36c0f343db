// All SQL of the orders service. Each function is one transaction.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../lib/config.js';
import { createDb, writeTogether, type Db, type Tx } from '../lib/db.js';
import type { OrderStatus } from '../lib/messages.js';
import { toDecimal, type Cents } from '../lib/money.js';
import { outboxInsert } from '../lib/outbox.js';
import { settle, type PaymentResult, type PurchaseRow } from './order.js';

export const config = loadConfig('orders');

export interface NewPurchase {
  userId: number;
  amount: Cents;
  description: string;
}

export interface PurchaseFilter {
  userId?: number;
  status?: OrderStatus;
  /** Only purchases older than this sequence number */
  before?: string;
  limit: number;
}

export function ordersStore(db: Db) {
  return {
    db,

    /** The purchase and its payment request, written by one statement: both or neither. */
    async createPurchase({ userId, amount, description }: NewPurchase): Promise<PurchaseRow> {
      const id = randomUUID();
      const [purchase] = await writeTogether<PurchaseRow>(db, [
        db('purchases').insert({ id, user_id: userId, amount: toDecimal(amount), description }).returning('*'),
        outboxInsert(db, [
          { type: 'order.payment_requested', correlationId: id, payload: { order_id: id, user_id: userId, amount: toDecimal(amount) } },
        ]),
      ]);
      return purchase!;
    },

    async getPurchase(id: string): Promise<PurchaseRow | undefined> {
      return db('purchases').where({ id }).first();
    },

    async listPurchases({ userId, status, before, limit }: PurchaseFilter): Promise<PurchaseRow[]> {
      const query = db('purchases').orderBy('seq', 'desc').limit(limit);
      if (userId !== undefined) query.where('user_id', userId);
      if (status !== undefined) query.where('status', status);
      if (before !== undefined) query.where('seq', '<', before);
      return query;
    },

    /** Settles a NEW purchase from a payment result and announces it; anything else changes nothing. */
    async applyPaymentResult(tx: Tx, result: PaymentResult): Promise<void> {
      const order_id = result.payload.order_id;
      const current: Pick<PurchaseRow, 'status' | 'user_id' | 'amount'> | undefined = await tx('purchases')
        .select('status', 'user_id', 'amount')
        .where({ id: order_id })
        .forUpdate()
        .first();
      const settlement = current && settle(current.status, result);
      if (!settlement) return;
      const updatedAt = new Date();
      await writeTogether(tx, [
        tx('purchases').where({ id: order_id }).update({ ...settlement, updated_at: updatedAt }).returning('id'),
        outboxInsert(tx, [
          {
            type: 'order.status_changed',
            correlationId: order_id,
            payload: {
              order_id,
              user_id: Number(current.user_id),
              amount: current.amount,
              ...settlement,
              updated_at: updatedAt.toISOString(),
            },
          },
        ]),
      ]);
    },
  };
}

export type OrdersStore = ReturnType<typeof ordersStore>;

export const store = ordersStore(createDb(config.databaseUrl, config.databasePoolMax));
