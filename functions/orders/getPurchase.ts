// GET /api/purchase/{purchase_id}
import { httpHandler, ok } from '../lib/http.js';
import { purchaseNotFound, toPurchaseView } from './order.js';
import { orders } from './service.js';
import * as store from './store.js';

export const handler = httpHandler('getPurchase', async ({ path: { purchase_id }, db }) => {
  const purchase = await store.getPurchase(db, purchase_id);
  if (!purchase) throw purchaseNotFound(purchase_id);
  return ok(toPurchaseView(purchase));
}, orders);
