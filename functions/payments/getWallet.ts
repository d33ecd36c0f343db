// GET /api/wallet/{user_id}
import { httpHandler, ok } from '../lib/http.js';
import { paymentsStore, store } from './store.js';
import { toWalletView, walletNotFound } from './wallet.js';

export const handler = httpHandler('getWallet', async ({ path, db }) => {
  const userId = path.user_id as number;
  const wallet = await paymentsStore(db).getWallet(userId);
  if (!wallet) throw walletNotFound(userId);
  return ok(toWalletView(wallet));
}, { db: () => store.db });
