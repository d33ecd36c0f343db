// Consumer of order.payment_requested: debit the wallet once per order, and say how it went.
import { consumer } from '../lib/inbox.js';
import { centsFromDecimal } from '../lib/money.js';
import { payments } from './service.js';
import * as store from './store.js';
import { decidePayments } from './wallet.js';

export const handler = consumer(payments, ['order.payment_requested'], async (messages, tx) => {
  const requests = messages.map(({ message_id, payload }) => ({
    orderId: payload.order_id,
    userId: payload.user_id,
    amount: centsFromDecimal(payload.amount),
    messageId: message_id,
  }));
  // The wallets are locked first, so an outcome recorded meanwhile for the same order is seen here.
  const balances = await store.lockWallets(tx, [...new Set(requests.map((r) => r.userId))]);
  const earlier = await store.findOutcomes(tx, requests.map((r) => r.orderId));
  await store.recordOutcomes(tx, decidePayments(requests, balances, earlier));
});
