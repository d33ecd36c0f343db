// POST /api/wallet/create
import { created, httpHandler } from '../lib/http.js';
import { HttpProblem } from '../lib/problem.js';
import { paymentsStore, store } from './store.js';
import { toWalletView } from './wallet.js';

export const handler = httpHandler('createWallet', async ({ body, db }) => {
  const { user_id } = body as { user_id: number };
  const wallet = await paymentsStore(db).createWallet(user_id);
  if (!wallet) throw new HttpProblem(409, `User ${user_id} already has a wallet`, { type: '/problems/wallet-exists' });
  return created(toWalletView(wallet), `/api/wallet/${user_id}`);
}, { db: () => store.db });
