import { describe, expect, it } from 'vitest';
import type { Purchase, StatusChange } from './api.js';
import { mergeOrders, waitingLongerThan } from './orders.js';

function purchase(id: string, createdAt: string, status: Purchase['status'] = 'NEW'): Purchase {
  return { id, user_id: 1, amount: '1.00', description: id, status, reason: null, created_at: createdAt, updated_at: createdAt };
}

const paid = (id: string): StatusChange => ({ id, user_id: 1, amount: '1.00', status: 'FINISHED', reason: null, updated_at: '2026-01-01T00:00:09.000Z' });

describe('mergeOrders', () => {
  it('lists each order once, newest first', () => {
    const a = purchase('a', '2026-01-01T00:00:01.000Z');
    const b = purchase('b', '2026-01-01T00:00:02.000Z');
    const c = purchase('c', '2026-01-01T00:00:03.000Z');
    expect(mergeOrders([a], [c, b, a], new Map()).map((o) => o.id)).toEqual(['c', 'b', 'a']);
  });

  it('never shows a settled order as NEW again, whichever copy arrives last', () => {
    const settled = { ...purchase('a', '2026-01-01T00:00:01.000Z'), status: 'FINISHED' as const };
    const stale = purchase('a', '2026-01-01T00:00:01.000Z');
    expect(mergeOrders([settled], [stale], new Map())[0]!.status).toBe('FINISHED');
    expect(mergeOrders([stale], [settled], new Map())[0]!.status).toBe('FINISHED');
  });

  it('applies an outcome that arrived before the order was listed', () => {
    const [order] = mergeOrders([], [purchase('a', '2026-01-01T00:00:01.000Z')], new Map([['a', paid('a')]]));
    expect(order).toMatchObject({ id: 'a', status: 'FINISHED', updated_at: '2026-01-01T00:00:09.000Z' });
  });

  it('keeps an order that a list read before its creation does not have', () => {
    const placed = purchase('new', '2026-01-01T00:00:05.000Z');
    const older = purchase('old', '2026-01-01T00:00:01.000Z');
    expect(mergeOrders([placed], [older], new Map()).map((o) => o.id)).toEqual(['new', 'old']);
  });
});

describe('waitingLongerThan', () => {
  it('is true only for a NEW order older than the limit', () => {
    const now = Date.parse('2026-01-01T00:01:00.000Z');
    expect(waitingLongerThan([purchase('a', '2026-01-01T00:00:50.000Z')], 15_000, now)).toBe(false);
    expect(waitingLongerThan([purchase('a', '2026-01-01T00:00:30.000Z')], 15_000, now)).toBe(true);
    expect(waitingLongerThan([purchase('a', '2026-01-01T00:00:30.000Z', 'CANCELLED')], 15_000, now)).toBe(false);
  });
});
