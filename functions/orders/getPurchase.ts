// GET /api/purchase/{purchase_id}
import { httpHandler, ok } from '../lib/http.js';
import { purchaseNotFound, toPurchaseView } from './order.js';
import { ordersStore, store } from './store.js';

export const handler = httpHandler('getPurchase', async ({ path, db }) => {
  const id = path.purchase_id as string;
  const purchase = await ordersStore(db).getPurchase(id);
  if (!purchase) throw purchaseNotFound(id);
  return ok(toPurchaseView(purchase));
}, { db: () => store.db });
