// GET /api/purchases?user_id&status&limit&cursor
import type { OrderStatus } from '../lib/messages.js';
import { httpHandler, ok } from '../lib/http.js';
import { decodeCursor, encodeCursor, toPurchaseView } from './order.js';
import { ordersStore, store } from './store.js';

export const handler = httpHandler('listPurchases', async ({ query, db }) => {
  const limit = query.limit as number;
  const rows = await ordersStore(db).listPurchases({
    userId: query.user_id as number | undefined,
    status: query.status as OrderStatus | undefined,
    before: query.cursor === undefined ? undefined : decodeCursor(query.cursor as string),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor(page[page.length - 1]!.seq) : null;
  return ok({ purchases: page.map(toPurchaseView), next_cursor: next });
}, { db: () => store.db });
