// All SQL of the orders service. Each function is one transaction.
import { randomUUID } from 'node:crypto';
import { loadConfig } from '../lib/config.js';
import { createDb, type Db, type Tx } from '../lib/db.js';
import type { OrderStatus } from '../lib/messages.js';
import { toDecimal, type Cents } from '../lib/money.js';
import { writeOutbox } from '../lib/outbox.js';
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

    /** The purchase and its payment request, committed together. */
    async createPurchase({ userId, amount, description }: NewPurchase): Promise<PurchaseRow> {
      return db.transaction(async (tx) => {
        const [row] = await tx('purchases')
          .insert({ id: randomUUID(), user_id: userId, amount: toDecimal(amount), description })
          .returning('*');
        const purchase = row as PurchaseRow;
        await writeOutbox(tx, [
          {
            type: 'order.payment_requested',
            correlationId: purchase.id,
            payload: { order_id: purchase.id, user_id: userId, amount: purchase.amount },
          },
        ]);
        return purchase;
      });
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
      const current: PurchaseRow | undefined = await tx('purchases').where({ id: order_id }).forUpdate().first();
      const settlement = current && settle(current.status, result);
      if (!settlement) return;
      const [row] = await tx('purchases')
        .where({ id: order_id })
        .update({ ...settlement, updated_at: tx.fn.now() })
        .returning('*');
      const updated = row as PurchaseRow;
      await writeOutbox(tx, [
        {
          type: 'order.status_changed',
          correlationId: order_id,
          payload: {
            order_id,
            user_id: Number(updated.user_id),
            amount: updated.amount,
            status: updated.status,
            reason: updated.reason,
            updated_at: updated.updated_at.toISOString(),
          },
        },
      ]);
    },
  };
}

export type OrdersStore = ReturnType<typeof ordersStore>;

export const store = ordersStore(createDb(config.databaseUrl, config.databasePoolMax));
