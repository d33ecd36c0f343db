import { describe, expect, it } from 'vitest';
import type { Attempt } from './clients.js';
import { cents, judge, money, type Observed, type PurchaseRow } from './checks.js';

const orderIds = ['00000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000003'];

function attempt(kind: Attempt['kind'], n: number, userId: number, amountCents: number, overrides: Partial<Attempt> = {}): Attempt {
  const id = `${kind}-${n}`;
  return {
    id,
    kind,
    key: `run-${id}`,
    userId,
    amountCents,
    ...(kind === 'order' ? { description: `chaos run ${id}`, orderId: orderIds[n - 1] } : {}),
    outcome: 'acknowledged',
    tries: 1,
    replayed: 0,
    answers: { [kind === 'deposit' ? '200' : '201']: 1 },
    ...overrides,
  };
}

const purchase = (n: number, status: PurchaseRow['status'], overrides: Partial<PurchaseRow> = {}): PurchaseRow => ({
  id: orderIds[n - 1]!,
  userId: 1,
  amountCents: 3_00,
  description: `chaos run order-${n}`,
  status,
  reason: status === 'CANCELLED' ? 'insufficient_funds' : null,
  ...overrides,
});

/** User 1 deposits 5.00 and orders 3.00 twice: one paid, one refused; user 9 has no wallet. */
function healthy(): Observed {
  return {
    attempts: [
      attempt('wallet', 1, 1, 0),
      attempt('deposit', 1, 1, 5_00),
      attempt('order', 1, 1, 3_00),
      attempt('order', 2, 1, 3_00, { tries: 3, answers: { '503': 2, '201': 1 } }),
      attempt('order', 3, 9, 1_00),
    ],
    purchases: [purchase(1, 'FINISHED'), purchase(2, 'CANCELLED'), purchase(3, 'CANCELLED', { userId: 9, amountCents: 1_00, reason: 'wallet_not_found' })],
    wallets: [{ userId: 1, balanceCents: 2_00 }],
    ledger: [
      { userId: 1, kind: 'deposit', amountCents: 5_00, orderId: null },
      { userId: 1, kind: 'payment', amountCents: -3_00, orderId: orderIds[0]! },
    ],
    payments: [
      { orderId: orderIds[0]!, userId: 1, amountCents: 3_00, status: 'succeeded' },
      { orderId: orderIds[1]!, userId: 1, amountCents: 3_00, status: 'refused' },
    ],
    walletUsers: [1],
    apiBalances: new Map([[1, 2_00]]),
    apiStatuses: new Map([
      [orderIds[0]!, 'FINISHED'],
      [orderIds[1]!, 'CANCELLED'],
      [orderIds[2]!, 'CANCELLED'],
    ]),
  };
}

describe('judge', () => {
  it('finds nothing wrong with a run where every promise held', () => {
    const verdict = judge(healthy());
    expect(verdict.violations).toEqual([]);
    expect(verdict.orders).toMatchObject({ attempted: 3, acknowledged: 3, lost: 0, duplicated: 0, stuck: 0, finished: 1, cancelled: 2, retried: 1 });
    expect(verdict.money).toMatchObject({ wallets: 1, expectedCents: 2_00, actualCents: 2_00, createdCents: 0, destroyedCents: 0 });
  });

  it('counts an acknowledged order that is missing as lost', () => {
    const o = healthy();
    const verdict = judge({ ...o, purchases: o.purchases.filter((p) => p.id !== orderIds[1]), payments: o.payments.slice(0, 1) });
    expect(verdict.orders.lost).toBe(1);
    expect(verdict.violations).toContain(`lost: order-2 was acknowledged as order ${orderIds[1]}, which does not exist`);
  });

  it('counts two orders for one attempt as duplicated, and a NEW one as stuck', () => {
    const o = healthy();
    const copy = purchase(2, 'NEW', { id: '00000000-0000-4000-8000-0000000000ff' });
    const verdict = judge({ ...o, purchases: [...o.purchases, copy] });
    expect(verdict.orders).toMatchObject({ duplicated: 1, stuck: 1 });
    expect(verdict.violations.some((v) => v.startsWith('duplicated: order-2 made 2 orders'))).toBe(true);
    expect(verdict.violations).toContain(`stuck: order ${copy.id} is still NEW`);
  });

  it('sees money created by a deposit applied twice, and destroyed by a debit without its order', () => {
    const o = healthy();
    const twice = judge({
      ...o,
      wallets: [{ userId: 1, balanceCents: 7_00 }],
      ledger: [...o.ledger, { userId: 1, kind: 'deposit', amountCents: 5_00, orderId: null }],
      apiBalances: new Map([[1, 7_00]]),
    });
    expect(twice.money).toMatchObject({ createdCents: 5_00, destroyedCents: 0, ledgerMismatches: 0 });

    const debited = judge({
      ...o,
      wallets: [{ userId: 1, balanceCents: 0 }],
      ledger: [...o.ledger, { userId: 1, kind: 'payment', amountCents: -2_00, orderId: orderIds[1]! }],
      apiBalances: new Map([[1, 0]]),
    });
    expect(debited.money).toMatchObject({ createdCents: 0, destroyedCents: 2_00 });
    expect(debited.payments.paidButNotFinished).toBe(1);
  });

  it('allows for a deposit whose answer never came, either way', () => {
    const o = healthy();
    const lostAnswer = attempt('deposit', 2, 1, 4_00, { outcome: 'unacknowledged', answers: { network: 9 } });
    const applied = judge({
      ...o,
      attempts: [...o.attempts, lostAnswer],
      wallets: [{ userId: 1, balanceCents: 6_00 }],
      ledger: [...o.ledger, { userId: 1, kind: 'deposit', amountCents: 4_00, orderId: null }],
      apiBalances: new Map([[1, 6_00]]),
    });
    expect(applied.money).toMatchObject({ createdCents: 0, destroyedCents: 0 });
    expect(applied.deposits.unacknowledged).toBe(1);
    expect(judge({ ...o, attempts: [...o.attempts, lostAnswer] }).money).toMatchObject({ createdCents: 0, destroyedCents: 0 });
  });

  it('requires one payment of the right amount per FINISHED order, and a ledger that sums to the balance', () => {
    const o = healthy();
    const unpaid = judge({ ...o, payments: o.payments.slice(1) });
    expect(unpaid.payments.finishedWithoutPayment).toBe(1);

    const wrong = judge({ ...o, payments: [{ ...o.payments[0]!, amountCents: 2_00 }, o.payments[1]!] });
    expect(wrong.payments.wrongAmount).toBe(1);

    const drift = judge({ ...o, wallets: [{ userId: 1, balanceCents: 2_00 }], ledger: o.ledger.slice(0, 1) });
    expect(drift.money.ledgerMismatches).toBe(1);
    expect(drift.violations).toContain('ledger: wallet 1 holds 2.00, its ledger sums to 5.00');
  });

  it('reports the API disagreeing with the database, and a wallet_not_found for a user with a wallet', () => {
    const o = healthy();
    const verdict = judge({
      ...o,
      purchases: [purchase(1, 'FINISHED'), purchase(2, 'CANCELLED', { reason: 'wallet_not_found' }), o.purchases[2]!],
      apiStatuses: new Map([[orderIds[0]!, 'NEW']]),
    });
    expect(verdict.violations).toEqual(
      expect.arrayContaining([
        `reason: order ${orderIds[1]} was cancelled for want of a wallet, but user 1 has one`,
        `api: GET /api/purchase/${orderIds[0]} says NEW, the database FINISHED`,
      ]),
    );
  });
});

describe('amounts', () => {
  it('reads decimals into cents without floating point, and writes them back', () => {
    expect([cents('0.30'), cents('12.5'), cents('-3.00'), cents('1000000000.00'), cents(7)]).toEqual([30, 12_50, -3_00, 100_000_000_000, 7_00]);
    expect(() => cents('1.234')).toThrow();
    expect([money(30), money(-3_00), money(100_000_000_000)]).toEqual(['0.30', '-3.00', '1000000000.00']);
  });
});
