// POST /api/wallet/{user_id}/deposit
import { httpHandler, ok } from '../lib/http.js';
import { centsOf } from '../lib/money.js';
import { HttpProblem } from '../lib/problem.js';
import { payments } from './service.js';
import * as store from './store.js';
import { toWalletView, walletNotFound } from './wallet.js';

export const handler = httpHandler('deposit', async ({ path: { user_id }, body, db }) => {
  const wallet = await store.deposit(db, user_id, centsOf(body.amount)).catch((error: unknown) => {
    throw error instanceof store.BalanceLimitError ? new HttpProblem(422, 'The balance would exceed its limit') : error;
  });
  if (!wallet) throw walletNotFound(user_id);
  return ok(toWalletView(wallet));
}, payments);
