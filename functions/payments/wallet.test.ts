import { describe, expect, it } from 'vitest';
import { toJson } from '../lib/money.js';
import { decidePayment, toWalletView, walletNotFound } from './wallet.js';

describe('decidePayment', () => {
  it('refuses when there is no wallet', () => {
    expect(decidePayment(undefined, 100n)).toEqual({ pay: false, reason: 'wallet_not_found' });
  });

  it('refuses when the balance is one cent short', () => {
    expect(decidePayment(99n, 100n)).toEqual({ pay: false, reason: 'insufficient_funds' });
    expect(decidePayment(0n, 1n)).toEqual({ pay: false, reason: 'insufficient_funds' });
  });

  it('pays an amount equal to the balance, and any amount below it', () => {
    expect(decidePayment(100n, 100n)).toEqual({ pay: true });
    expect(decidePayment(100_000_000_000n, 1n)).toEqual({ pay: true });
  });

  it('compares exactly beyond the range of a double', () => {
    expect(decidePayment(9_007_199_254_740_993n, 9_007_199_254_740_994n)).toEqual({ pay: false, reason: 'insufficient_funds' });
  });
});

describe('toWalletView', () => {
  it('shows the user id as a number and the balance with two decimals', () => {
    const view = toWalletView({ user_id: '42', balance: '12.30', created_at: new Date('2025-01-31T10:00:00Z') });
    expect(toJson(view)).toBe('{"user_id":42,"balance":12.30,"created_at":"2025-01-31T10:00:00.000Z"}');
  });
});

describe('walletNotFound', () => {
  it('is a 404 naming the user', () => {
    const problem = walletNotFound(7);
    expect(problem.toBody()).toEqual({ type: '/problems/wallet-not-found', title: 'Not Found', status: 404, detail: 'User 7 has no wallet' });
  });
});
