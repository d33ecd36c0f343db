// All SQL of the payments service. Each function is one transaction.
import { loadConfig } from '../lib/config.js';
import { createDb, writeTogether, type Db, type Tx } from '../lib/db.js';
import type { Envelope, RefusalReason } from '../lib/messages.js';
import { centsFromDecimal, toDecimal, type Cents } from '../lib/money.js';
import { outboxInsert } from '../lib/outbox.js';
import { decidePayment, type WalletRow } from './wallet.js';

export const config = loadConfig('payments');

const walletColumns = ['user_id', 'balance', 'created_at'];

interface PaymentRow {
  status: 'succeeded' | 'refused';
  reason: RefusalReason | null;
}

export class BalanceLimitError extends Error {}

export function paymentsStore(db: Db) {
  return {
    db,

    /** The new wallet, or undefined when the user already has one. */
    async createWallet(userId: number): Promise<WalletRow | undefined> {
      const [row] = await db('wallets').insert({ user_id: userId }).onConflict('user_id').ignore().returning(walletColumns);
      return row;
    },

    async getWallet(userId: number): Promise<WalletRow | undefined> {
      return db('wallets').select(walletColumns).where({ user_id: userId }).first();
    },

    /** The wallet after the deposit, or undefined when there is no wallet. */
    async deposit(userId: number, amount: Cents): Promise<WalletRow | undefined> {
      return db.transaction(async (tx) => {
        const [row] = await tx('wallets')
          .where({ user_id: userId })
          .update({ balance: tx.raw('balance + ?', [toDecimal(amount)]), updated_at: tx.fn.now() })
          .returning(walletColumns)
          .catch((error: { code?: string }) => {
            // 22003: the balance would not fit its column.
            throw error.code === '22003' ? new BalanceLimitError('balance limit') : error;
          });
        if (row) await tx('ledger').insert({ user_id: userId, amount: toDecimal(amount), kind: 'deposit' });
        return row as WalletRow | undefined;
      });
    },

    /**
     * Charges an order once. The wallet row is locked first, so an earlier outcome for the same order
     * (under another message id) is visible here and stands; the primary key of payments backs that up.
     */
    async processPayment(tx: Tx, message: Envelope<'order.payment_requested'>): Promise<void> {
      const { order_id, user_id, amount } = message.payload;
      const wallet = await tx('wallets').select('balance').where({ user_id }).forUpdate().first();
      const earlier: PaymentRow | undefined = await tx('payments').select('status', 'reason').where({ order_id }).first();
      const decision = earlier
        ? earlier.status === 'succeeded' ? { pay: true as const } : { pay: false as const, reason: earlier.reason! }
        : decidePayment(wallet && centsFromDecimal(wallet.balance), centsFromDecimal(amount));
      const outcome = outboxInsert(tx, [
        decision.pay
          ? { type: 'payment.succeeded', correlationId: order_id, payload: { order_id, user_id, amount } }
          : { type: 'payment.failed', correlationId: order_id, payload: { order_id, user_id, amount, reason: decision.reason } },
      ]);
      if (earlier) {
        await outcome; // the earlier outcome, announced again
        return;
      }
      const payment = tx('payments').insert({
        order_id,
        user_id,
        amount,
        status: decision.pay ? 'succeeded' : 'refused',
        reason: decision.pay ? null : decision.reason,
        message_id: message.message_id,
      });
      const debit = [
        tx('wallets').where({ user_id }).update({ balance: tx.raw('balance - ?', [amount]), updated_at: tx.fn.now() }),
        tx('ledger').insert({ user_id, amount: `-${amount}`, kind: 'payment', order_id }),
      ];
      await writeTogether(tx, [outcome, payment, ...(decision.pay ? debit : [])]);
    },
  };
}

export type PaymentsStore = ReturnType<typeof paymentsStore>;

export const store = paymentsStore(createDb(config.databaseUrl, config.databasePoolMax));
