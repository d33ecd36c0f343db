// The rules of an order, free of I/O: it is created NEW and moves once, to FINISHED or CANCELLED.
import type { Envelope, OrderStatus, RefusalReason } from '../lib/messages.js';
import { Money } from '../lib/money.js';
import { HttpProblem } from '../lib/problem.js';

export interface PurchaseRow {
  id: string;
  seq: string;
  user_id: string;
  amount: string;
  description: string;
  status: OrderStatus;
  reason: RefusalReason | null;
  created_at: Date;
  updated_at: Date;
}

export type PaymentResult = Envelope<'payment.succeeded' | 'payment.failed'>;

export type Settlement = { status: 'FINISHED'; reason: null } | { status: 'CANCELLED'; reason: RefusalReason };

/** What a payment result does to an order: settles a NEW one; a settled order never changes again. */
export function settle(status: OrderStatus, result: PaymentResult): Settlement | undefined {
  if (status !== 'NEW') return undefined;
  return result.type === 'payment.succeeded'
    ? { status: 'FINISHED', reason: null }
    : { status: 'CANCELLED', reason: (result as Envelope<'payment.failed'>).payload.reason };
}

/**
 * Settles orders from payment results in their order; an order settles once, so a later result for
 * it (a copy under another message id, or the other outcome) changes nothing. Orders not found are
 * left out.
 */
export function settleAll(results: readonly PaymentResult[], statuses: ReadonlyMap<string, OrderStatus>): (Settlement & { orderId: string })[] {
  const current = new Map(statuses);
  return results.flatMap((result) => {
    const orderId = result.payload.order_id;
    const status = current.get(orderId);
    const settlement = status && settle(status, result);
    if (!settlement) return [];
    current.set(orderId, settlement.status);
    return [{ orderId, ...settlement }];
  });
}

export function toPurchaseView(row: PurchaseRow) {
  return {
    id: row.id,
    user_id: Number(row.user_id),
    amount: Money.fromDecimal(row.amount),
    description: row.description,
    status: row.status,
    reason: row.reason,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
  };
}

/** Pages are cut by the purchase's sequence number; the cursor is that number, opaque to clients. */
export function encodeCursor(seq: string): string {
  return Buffer.from(seq).toString('base64url');
}

export function decodeCursor(cursor: string): string {
  const seq = Buffer.from(cursor, 'base64url').toString();
  if (!/^[1-9]\d{0,17}$/.test(seq)) {
    throw new HttpProblem(400, 'The cursor is not one this service gave', {
      type: '/problems/validation',
      errors: [{ in: 'query', name: 'cursor', detail: 'is not a cursor of a previous page' }],
    });
  }
  return seq;
}

export function purchaseNotFound(id: string): HttpProblem {
  return new HttpProblem(404, `No purchase has id ${id}`, { type: '/problems/purchase-not-found' });
}
