// POST /api/purchase
import { randomUUID } from 'node:crypto';
import { created, httpHandler } from '../lib/http.js';
import { centsOf } from '../lib/money.js';
import { toPurchaseView } from './order.js';
import { orders } from './service.js';
import * as store from './store.js';

export const handler = httpHandler('createPurchase', async ({ body: { user_id, amount, description }, db }) => {
  const purchase = await store.createPurchase(db, { id: randomUUID(), userId: user_id, amount: centsOf(amount), description });
  return created(toPurchaseView(purchase), `/api/purchase/${purchase.id}`);
}, orders);
