// POST /api/wallet/{user_id}/deposit
import { httpHandler, ok } from '../lib/http.js';
import { centsOf } from '../lib/money.js';
import { HttpProblem } from '../lib/problem.js';
import { BalanceLimitError, paymentsStore, store } from './store.js';
import { toWalletView, walletNotFound } from './wallet.js';

export const handler = httpHandler('deposit', async ({ path, body, db }) => {
  const userId = path.user_id as number;
  const wallet = await paymentsStore(db).deposit(userId, centsOf((body as { amount: number }).amount)).catch((error: unknown) => {
    throw error instanceof BalanceLimitError ? new HttpProblem(422, 'The balance would exceed its limit') : error;
  });
  if (!wallet) throw walletNotFound(userId);
  return ok(toWalletView(wallet));
}, { db: () => store.db });
