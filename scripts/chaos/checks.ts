// What must hold once the system has settled, judged from what the clients were told and what the
// databases and the API say. Each kind of failure is counted on its own (lost, duplicated, stuck,
// money created, money destroyed, ...), as Jepsen's checkers do, so the report says which one broke.
import type { Attempt } from './clients.js';

export interface PurchaseRow {
  id: string;
  userId: number;
  amountCents: number;
  description: string;
  status: 'NEW' | 'FINISHED' | 'CANCELLED';
  reason: string | null;
}

export interface WalletRow {
  userId: number;
  balanceCents: number;
}

export interface LedgerRow {
  userId: number;
  kind: 'deposit' | 'payment';
  amountCents: number;
  orderId: string | null;
}

export interface PaymentRow {
  orderId: string;
  userId: number;
  amountCents: number;
  status: 'succeeded' | 'refused';
}

export interface Observed {
  attempts: readonly Attempt[];
  purchases: readonly PurchaseRow[];
  wallets: readonly WalletRow[];
  ledger: readonly LedgerRow[];
  payments: readonly PaymentRow[];
  /** The users the run gave a wallet */
  walletUsers: readonly number[];
  /** Balances as GET /api/wallet/{user_id} returned them (undefined: it did not answer 200) */
  apiBalances: ReadonlyMap<number, number | undefined>;
  /** Statuses as GET /api/purchase/{id} returned them, for the acknowledged orders */
  apiStatuses: ReadonlyMap<string, string | undefined>;
}

export interface Verdict {
  orders: {
    attempted: number;
    acknowledged: number;
    unacknowledged: number;
    refused: number;
    lost: number;
    duplicated: number;
    stuck: number;
    unexpected: number;
    finished: number;
    cancelled: number;
    retried: number;
    replayed: number;
  };
  deposits: { attempted: number; acknowledged: number; unacknowledged: number; refused: number; retried: number; replayed: number };
  money: {
    wallets: number;
    /** Deposits the clients were told of, less the FINISHED orders (cents) */
    expectedCents: number;
    /** The sum of the balances (cents) */
    actualCents: number;
    createdCents: number;
    destroyedCents: number;
    negativeBalances: number;
    ledgerMismatches: number;
  };
  payments: { finishedWithoutPayment: number; paidButNotFinished: number; wrongAmount: number; forUnknownOrders: number };
  /** Every violation in a sentence, the first few of each kind */
  violations: string[];
}

export function cents(decimal: string | number): number {
  const text = String(decimal);
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) throw new Error(`not an amount: ${text}`);
  return (match[1] ? -1 : 1) * (Number(match[2]) * 100 + Number((match[3] ?? '0').padEnd(2, '0')));
}

export const money = (c: number) => `${c < 0 ? '-' : ''}${Math.floor(Math.abs(c) / 100)}.${String(Math.abs(c) % 100).padStart(2, '0')}`;

class Findings {
  readonly lines: string[] = [];
  private readonly perKind = new Map<string, number>();

  add(kind: string, line: string): void {
    const seen = (this.perKind.get(kind) ?? 0) + 1;
    this.perKind.set(kind, seen);
    if (seen <= 5) this.lines.push(line);
    else if (seen === 6) this.lines.push(`${kind}: more of the same (see the counts)`);
  }
}

const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);

export function judge(o: Observed): Verdict {
  const f = new Findings();
  const orders = o.attempts.filter((a) => a.kind === 'order');
  const deposits = o.attempts.filter((a) => a.kind === 'deposit');
  const byDescription = new Map<string, PurchaseRow[]>();
  for (const p of o.purchases) byDescription.set(p.description, [...(byDescription.get(p.description) ?? []), p]);
  const walletUsers = new Set(o.walletUsers);

  // Orders: each acknowledged attempt exactly once, as asked, and none left NEW.
  let lost = 0;
  let duplicated = 0;
  for (const a of orders) {
    const rows = byDescription.get(a.description!) ?? [];
    if (a.outcome === 'acknowledged' && !rows.some((r) => r.id === a.orderId)) {
      lost += 1;
      f.add('lost', `lost: ${a.id} was acknowledged as order ${a.orderId}, which does not exist`);
    }
    if (rows.length > 1) {
      duplicated += 1;
      f.add('duplicated', `duplicated: ${a.id} made ${rows.length} orders (${rows.map((r) => r.id).join(', ')}) after ${a.tries} tries`);
    }
    for (const r of rows.filter((r) => r.userId !== a.userId || r.amountCents !== a.amountCents)) {
      f.add('altered', `altered: order ${r.id} of ${a.id} is user ${r.userId}, ${money(r.amountCents)}; the request was user ${a.userId}, ${money(a.amountCents)}`);
    }
    if (a.outcome === 'refused') f.add('refused', `refused: ${a.id} (a valid order) was answered ${a.refusal}`);
    if (a.outcome === 'unacknowledged') f.add('unacknowledged', `unacknowledged: ${a.id} got no success in ${a.tries} tries (${JSON.stringify(a.answers)})`);
    const apiStatus = a.orderId && o.apiStatuses.get(a.orderId);
    const row = rows.find((r) => r.id === a.orderId);
    if (a.outcome === 'acknowledged' && row && apiStatus !== row.status) {
      f.add('api', `api: GET /api/purchase/${a.orderId} says ${apiStatus ?? 'nothing'}, the database ${row.status}`);
    }
  }
  const known = new Set(orders.map((a) => a.description));
  const unexpected = o.purchases.filter((p) => !known.has(p.description));
  for (const p of unexpected) f.add('unexpected', `unexpected: order ${p.id} ("${p.description}") was never asked for`);
  const stuck = o.purchases.filter((p) => p.status === 'NEW');
  for (const p of stuck) f.add('stuck', `stuck: order ${p.id} is still NEW`);
  for (const p of o.purchases.filter((p) => p.status === 'CANCELLED' && p.reason === 'wallet_not_found' && walletUsers.has(p.userId))) {
    f.add('reason', `reason: order ${p.id} was cancelled for want of a wallet, but user ${p.userId} has one`);
  }

  // Payments: one per FINISHED order, of its amount, and none for any other order.
  const purchasesById = new Map(o.purchases.map((p) => [p.id, p]));
  const debitsByOrder = new Map<string, LedgerRow[]>();
  for (const l of o.ledger.filter((l) => l.kind === 'payment')) debitsByOrder.set(l.orderId!, [...(debitsByOrder.get(l.orderId!) ?? []), l]);
  const succeeded = new Map(o.payments.filter((p) => p.status === 'succeeded').map((p) => [p.orderId, p]));
  let finishedWithoutPayment = 0;
  let paidButNotFinished = 0;
  let wrongAmount = 0;
  for (const p of o.purchases) {
    const debits = debitsByOrder.get(p.id) ?? [];
    const payment = succeeded.get(p.id);
    if (p.status === 'FINISHED') {
      if (debits.length !== 1 || !payment) {
        finishedWithoutPayment += 1;
        f.add('payment', `payment: FINISHED order ${p.id} has ${debits.length} ledger debit(s) and ${payment ? 'a' : 'no'} payment`);
      } else if (debits[0]!.amountCents !== -p.amountCents || payment.amountCents !== p.amountCents || payment.userId !== p.userId || debits[0]!.userId !== p.userId) {
        wrongAmount += 1;
        f.add('amount', `amount: order ${p.id} of ${money(p.amountCents)} for user ${p.userId} was paid ${money(-debits[0]!.amountCents)} by user ${debits[0]!.userId}`);
      }
    } else if (debits.length || payment) {
      paidButNotFinished += 1;
      f.add('paid', `paid: ${p.status} order ${p.id} has ${debits.length} ledger debit(s) and ${payment ? 'a' : 'no'} payment`);
    }
  }
  const forUnknownOrders = new Set([...debitsByOrder.keys(), ...succeeded.keys()].filter((id) => !purchasesById.has(id))).size;
  if (forUnknownOrders) f.add('unknown payment', `unknown payment: ${forUnknownOrders} payment(s) for orders that do not exist`);

  // Money: per wallet, balance = acknowledged deposits - FINISHED orders = the sum of its ledger, >= 0.
  let expectedCents = 0;
  let actualCents = 0;
  let createdCents = 0;
  let destroyedCents = 0;
  let negativeBalances = 0;
  let ledgerMismatches = 0;
  const walletsByUser = new Map(o.wallets.map((w) => [w.userId, w]));
  for (const userId of new Set([...o.walletUsers, ...o.wallets.map((w) => w.userId)])) {
    const wallet = walletsByUser.get(userId);
    const balance = wallet?.balanceCents ?? 0;
    if (!wallet) f.add('wallet', `wallet: user ${userId} was given a wallet, which does not exist`);
    const mine = deposits.filter((d) => d.userId === userId);
    const told = sum(mine.filter((d) => d.outcome === 'acknowledged').map((d) => d.amountCents));
    // A deposit whose answer never came may or may not have happened.
    const unknown = sum(mine.filter((d) => d.outcome !== 'acknowledged').map((d) => d.amountCents));
    const paid = sum(o.purchases.filter((p) => p.userId === userId && p.status === 'FINISHED').map((p) => p.amountCents));
    const expected = told - paid;
    expectedCents += expected;
    actualCents += balance;
    if (balance > expected + unknown) {
      createdCents += balance - expected - unknown;
      f.add('created', `created: wallet ${userId} holds ${money(balance)}; deposits ${money(told)} less paid orders ${money(paid)} is ${money(expected)}`);
    } else if (balance < expected) {
      destroyedCents += expected - balance;
      f.add('destroyed', `destroyed: wallet ${userId} holds ${money(balance)}; deposits ${money(told)} less paid orders ${money(paid)} is ${money(expected)}`);
    }
    const ledger = sum(o.ledger.filter((l) => l.userId === userId).map((l) => l.amountCents));
    if (ledger !== balance) {
      ledgerMismatches += 1;
      f.add('ledger', `ledger: wallet ${userId} holds ${money(balance)}, its ledger sums to ${money(ledger)}`);
    }
    if (balance < 0) {
      negativeBalances += 1;
      f.add('negative', `negative: wallet ${userId} holds ${money(balance)}`);
    }
    if (wallet && o.apiBalances.get(userId) !== balance) {
      f.add('api', `api: GET /api/wallet/${userId} says ${o.apiBalances.get(userId) ?? 'nothing'} (cents), the database ${balance}`);
    }
  }
  for (const d of deposits.filter((d) => d.outcome === 'refused')) f.add('refused', `refused: ${d.id} (a valid deposit) was answered ${d.refusal}`);
  for (const w of o.attempts.filter((a) => a.kind === 'wallet' && a.outcome !== 'acknowledged')) f.add('wallet', `wallet: ${w.id} for user ${w.userId} ended ${w.outcome}`);

  const count = (list: readonly Attempt[], outcome: Attempt['outcome']) => list.filter((a) => a.outcome === outcome).length;
  return {
    orders: {
      attempted: orders.length,
      acknowledged: count(orders, 'acknowledged'),
      unacknowledged: count(orders, 'unacknowledged'),
      refused: count(orders, 'refused'),
      lost,
      duplicated,
      stuck: stuck.length,
      unexpected: unexpected.length,
      finished: o.purchases.filter((p) => p.status === 'FINISHED').length,
      cancelled: o.purchases.filter((p) => p.status === 'CANCELLED').length,
      retried: orders.filter((a) => a.tries > 1).length,
      replayed: orders.filter((a) => a.replayed > 0).length,
    },
    deposits: {
      attempted: deposits.length,
      acknowledged: count(deposits, 'acknowledged'),
      unacknowledged: count(deposits, 'unacknowledged'),
      refused: count(deposits, 'refused'),
      retried: deposits.filter((a) => a.tries > 1).length,
      replayed: deposits.filter((a) => a.replayed > 0).length,
    },
    money: { wallets: walletsByUser.size, expectedCents, actualCents, createdCents, destroyedCents, negativeBalances, ledgerMismatches },
    payments: { finishedWithoutPayment, paidButNotFinished, wrongAmount, forUnknownOrders },
    violations: f.lines,
  };
}
