// GET /api/purchase/{purchase_id}
import { httpHandler, ok } from '../lib/http.js';
import { purchaseNotFound, toPurchaseView } from './order.js';
import { store } from './store.js';

export const handler = httpHandler('getPurchase', async ({ path }) => {
  const id = path.purchase_id as string;
  const purchase = await store.getPurchase(id);
  if (!purchase) throw purchaseNotFound(id);
  return ok(toPurchaseView(purchase));
});
