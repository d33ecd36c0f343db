// GET /api/wallet/{user_id}
import { httpHandler, ok } from '../lib/http.js';
import { store } from './store.js';
import { toWalletView, walletNotFound } from './wallet.js';

export const handler = httpHandler('getWallet', async ({ path }) => {
  const userId = path.user_id as number;
  const wallet = await store.getWallet(userId);
  if (!wallet) throw walletNotFound(userId);
  return ok(toWalletView(wallet));
});
