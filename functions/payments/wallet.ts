// The rules of a wallet, free of I/O: what a payment request decides, that an order's first outcome
// stands, and how a wallet is shown.
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

export interface PaymentRequest {
  orderId: string;
  userId: number;
  amount: Cents;
  messageId: string;
}

export interface DecidedPayment {
  request: PaymentRequest;
  decision: PaymentDecision;
  /** The order's first outcome, to record (and to debit when paid); otherwise the earlier one, announced again */
  first: boolean;
}

/**
 * Decides payment requests in their order. An order decided before (in an earlier batch, or earlier
 * in this one under another message id) keeps its outcome, so it is charged at most once; each new
 * decision sees the balance that the payments before it left.
 */
export function decidePayments(
  requests: readonly PaymentRequest[],
  balances: ReadonlyMap<number, Cents>,
  earlier: ReadonlyMap<string, PaymentDecision>,
): DecidedPayment[] {
  const left = new Map(balances);
  const decided = new Map(earlier);
  return requests.map((request) => {
    const before = decided.get(request.orderId);
    if (before) return { request, decision: before, first: false };
    const decision = decidePayment(left.get(request.userId), request.amount);
    if (decision.pay) left.set(request.userId, left.get(request.userId)! - request.amount);
    decided.set(request.orderId, decision);
    return { request, decision, first: true };
  });
}

export function toWalletView(row: WalletRow) {
  return { user_id: Number(row.user_id), balance: Money.fromDecimal(row.balance), created_at: row.created_at.toISOString() };
}

export function walletNotFound(userId: number): HttpProblem {
  return new HttpProblem(404, `User ${userId} has no wallet`, { type: '/problems/wallet-not-found' });
}
