// Consumer of payment.succeeded and payment.failed: settle each order once, and announce it.
import { consumer } from '../lib/inbox.js';
import { settleAll } from './order.js';
import { orders } from './service.js';
import * as store from './store.js';

export const handler = consumer(orders, ['payment.succeeded', 'payment.failed'], async (results, tx) => {
  const statuses = await store.lockPurchases(tx, [...new Set(results.map((r) => r.payload.order_id))]);
  const settlements = settleAll(results, statuses);
  if (settlements.length) await store.recordSettlements(tx, settlements);
});
