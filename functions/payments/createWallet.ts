// POST /api/wallet/create
import { created, httpHandler } from '../lib/http.js';
import { HttpProblem } from '../lib/problem.js';
import { payments } from './service.js';
import * as store from './store.js';
import { toWalletView } from './wallet.js';

export const handler = httpHandler('createWallet', async ({ body: { user_id }, db }) => {
  const wallet = await store.createWallet(db, user_id);
  if (!wallet) throw new HttpProblem(409, `User ${user_id} already has a wallet`, { type: '/problems/wallet-exists' });
  return created(toWalletView(wallet), `/api/wallet/${user_id}`);
}, payments);
