// The rules of a wallet, free of I/O: what a payment request decides, and how a wallet is shown.
import type { RefusalReason } from '../lib/messages.js';
import { Money, type Cents } from '../lib/money.js';
import { HttpProblem } from '../lib/problem.js';

export interface WalletRow {
  user_id: string;
  balance: string;
  created_at: Date;
}

export type PaymentDecision = { pay: true } | { pay: false; reason: RefusalReason };

/** A wallet pays an order when it exists and holds at least the amount; the balance never goes below zero. */
export function decidePayment(balance: Cents | undefined, amount: Cents): PaymentDecision {
  if (balance === undefined) return { pay: false, reason: 'wallet_not_found' };
  if (balance < amount) return { pay: false, reason: 'insufficient_funds' };
  return { pay: true };
}

export function toWalletView(row: WalletRow) {
  return { user_id: Number(row.user_id), balance: Money.fromDecimal(row.balance), created_at: row.created_at.toISOString() };
}

export function walletNotFound(userId: number): HttpProblem {
  return new HttpProblem(404, `User ${userId} has no wallet`, { type: '/problems/wallet-not-found' });
}
