// GET /api/wallet/{user_id}
import { httpHandler, ok } from '../lib/http.js';
import { payments } from './service.js';
import * as store from './store.js';
import { toWalletView, walletNotFound } from './wallet.js';

export const handler = httpHandler('getWallet', async ({ path: { user_id }, db }) => {
  const wallet = await store.getWallet(db, user_id);
  if (!wallet) throw walletNotFound(user_id);
  return ok(toWalletView(wallet));
}, payments);
