// GET /api/purchases?user_id&status&limit&cursor
import { httpHandler, ok } from '../lib/http.js';
import { decodeCursor, encodeCursor, toPurchaseView } from './order.js';
import { orders } from './service.js';
import * as store from './store.js';

export const handler = httpHandler('listPurchases', async ({ query: { user_id, status, limit, cursor }, db }) => {
  const rows = await store.listPurchases(db, {
    userId: user_id,
    status,
    before: cursor === undefined ? undefined : decodeCursor(cursor),
    limit: limit + 1,
  });
  const page = rows.slice(0, limit);
  const next = rows.length > limit ? encodeCursor(page[page.length - 1]!.seq) : null;
  return ok({ purchases: page.map(toPurchaseView), next_cursor: next });
}, orders);
