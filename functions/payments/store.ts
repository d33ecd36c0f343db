// All SQL of the payments service, each statement on the pool or transaction it is given.
import { statement, type Sql, type Tx } from '../lib/db.js';
import type { RefusalReason } from '../lib/messages.js';
import { centsFromDecimal, toDecimal, type Cents } from '../lib/money.js';
import type { DecidedPayment, PaymentDecision, WalletRow } from './wallet.js';

export class BalanceLimitError extends Error {}

const walletColumns = 'user_id, balance, created_at';

const insertWallet = statement<WalletRow>(
  'payments.create-wallet',
  `INSERT INTO wallets (user_id) VALUES ($1) ON CONFLICT (user_id) DO NOTHING RETURNING ${walletColumns}`,
);

/** The new wallet, or undefined when the user already has one. */
export async function createWallet(sql: Sql, userId: number): Promise<WalletRow | undefined> {
  return (await insertWallet(sql, [userId]))[0];
}

const selectWallet = statement<WalletRow>('payments.get-wallet', `SELECT ${walletColumns} FROM wallets WHERE user_id = $1`);

export async function getWallet(sql: Sql, userId: number): Promise<WalletRow | undefined> {
  return (await selectWallet(sql, [userId]))[0];
}

// The balance and its ledger entry in one statement: both or neither.
const addDeposit = statement<WalletRow>(
  'payments.deposit',
  `WITH wallet AS (
     UPDATE wallets SET balance = balance + $2, updated_at = now() WHERE user_id = $1 RETURNING ${walletColumns}
   ), entry AS (
     INSERT INTO ledger (user_id, amount, kind) SELECT user_id, $2, 'deposit' FROM wallet
   )
   SELECT * FROM wallet`,
);

/** The wallet after the deposit, or undefined when there is no wallet. */
export async function deposit(sql: Sql, userId: number, amount: Cents): Promise<WalletRow | undefined> {
  const rows = await addDeposit(sql, [userId, toDecimal(amount)]).catch((error: { code?: string }) => {
    // 22003: the balance would not fit its column.
    throw error.code === '22003' ? new BalanceLimitError('balance limit') : error;
  });
  return rows[0];
}

// In the order of their ids, so that consumers locking overlapping wallets never deadlock.
const lockWalletRows = statement<{ user_id: string; balance: string }>(
  'payments.lock-wallets',
  'SELECT user_id, balance FROM wallets WHERE user_id = ANY($1::bigint[]) ORDER BY user_id FOR UPDATE',
);

/** Locks the wallets (those that exist) until the transaction ends; resolves with their balances. */
export async function lockWallets(tx: Tx, userIds: number[]): Promise<Map<number, Cents>> {
  const rows = await lockWalletRows(tx, [userIds]);
  return new Map(rows.map((r) => [Number(r.user_id), centsFromDecimal(r.balance)]));
}

const selectOutcomes = statement<{ order_id: string; status: 'succeeded' | 'refused'; reason: RefusalReason | null }>(
  'payments.find-outcomes',
  'SELECT order_id, status, reason FROM payments WHERE order_id = ANY($1::uuid[])',
);

/** The outcomes recorded earlier for these orders. */
export async function findOutcomes(tx: Tx, orderIds: string[]): Promise<Map<string, PaymentDecision>> {
  const rows = await selectOutcomes(tx, [orderIds]);
  return new Map(rows.map((r): [string, PaymentDecision] => [r.order_id, r.status === 'succeeded' ? { pay: true } : { pay: false, reason: r.reason! }]));
}

// One statement for the whole batch: each first outcome is recorded (the payments primary key
// allows one per order), a paid one is debited with its ledger entry, and every outcome is announced.
const writeOutcomes = statement(
  'payments.record-outcomes',
  `WITH input AS (
     SELECT * FROM unnest($1::uuid[], $2::bigint[], $3::numeric[], $4::text[], $5::uuid[], $6::boolean[])
       WITH ORDINALITY AS t(order_id, user_id, amount, reason, message_id, first, position)
   ), payment AS (
     INSERT INTO payments (order_id, user_id, amount, status, reason, message_id)
     SELECT order_id, user_id, amount, CASE WHEN reason IS NULL THEN 'succeeded' ELSE 'refused' END, reason, message_id
       FROM input WHERE first
   ), debit AS (
     UPDATE wallets SET balance = balance - paid.total, updated_at = now()
       FROM (SELECT user_id, sum(amount) AS total FROM input WHERE first AND reason IS NULL GROUP BY user_id) paid
      WHERE wallets.user_id = paid.user_id
   ), entry AS (
     INSERT INTO ledger (user_id, amount, kind, order_id)
     SELECT user_id, -amount, 'payment', order_id FROM input WHERE first AND reason IS NULL ORDER BY position
   )
   INSERT INTO outbox (type, correlation_id, payload)
   SELECT CASE WHEN reason IS NULL THEN 'payment.succeeded' ELSE 'payment.failed' END, order_id,
          jsonb_strip_nulls(jsonb_build_object('order_id', order_id, 'user_id', user_id, 'amount', amount::text, 'reason', reason))
     FROM input ORDER BY position`,
);

export async function recordOutcomes(tx: Tx, decided: DecidedPayment[]): Promise<void> {
  await writeOutcomes(tx, [
    decided.map((d) => d.request.orderId),
    decided.map((d) => d.request.userId),
    decided.map((d) => toDecimal(d.request.amount)),
    decided.map((d) => (d.decision.pay ? null : d.decision.reason)),
    decided.map((d) => d.request.messageId),
    decided.map((d) => d.first),
  ]);
}
