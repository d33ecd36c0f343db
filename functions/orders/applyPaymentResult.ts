// Consumer of payment.succeeded and payment.failed: settle the order once, and announce it.
import { consumer } from '../lib/inbox.js';
import { store } from './store.js';

export const handler = consumer(() => store.db, ['payment.succeeded', 'payment.failed'], (message, tx) =>
  store.applyPaymentResult(tx, message),
);
