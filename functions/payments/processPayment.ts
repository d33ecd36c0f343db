// Consumer of order.payment_requested: debit the wallet once per order, and say how it went.
import { consumer } from '../lib/inbox.js';
import { store } from './store.js';

export const handler = consumer(() => store.db, ['order.payment_requested'], (message, tx) => store.processPayment(tx, message));
