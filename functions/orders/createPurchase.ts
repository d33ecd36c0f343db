// POST /api/purchase
import { created, httpHandler } from '../lib/http.js';
import { centsOf } from '../lib/money.js';
import { toPurchaseView } from './order.js';
import { ordersStore, store } from './store.js';

export const handler = httpHandler('createPurchase', async ({ body, db }) => {
  const { user_id, amount, description } = body as { user_id: number; amount: number; description: string };
  const purchase = await ordersStore(db).createPurchase({ userId: user_id, amount: centsOf(amount), description });
  return created(toPurchaseView(purchase), `/api/purchase/${purchase.id}`);
}, { db: () => store.db });
