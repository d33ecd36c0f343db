import { describe, expect, it } from 'vitest';
import type { Envelope, OrderStatus } from '../lib/messages.js';
import { HttpProblem } from '../lib/problem.js';
import { decodeCursor, encodeCursor, settle, type PaymentResult } from './order.js';

const ref = { order_id: '0b6f6a52-2b1a-4f7e-9d43-5d7c1c1e2f00', user_id: 42, amount: '12.50' };
const succeeded: Envelope<'payment.succeeded'> = {
  message_id: '6f1c1c7e-0c8e-4f6b-8d38-2a7c1e0b9a11',
  type: 'payment.succeeded',
  occurred_at: '2025-01-31T10:00:00.000Z',
  payload: ref,
};
const failed: Envelope<'payment.failed'> = {
  message_id: '7a2d2d8f-1d9f-4a7c-9e49-3b8d2f1cab22',
  type: 'payment.failed',
  occurred_at: '2025-01-31T10:00:00.000Z',
  payload: { ...ref, reason: 'insufficient_funds' },
};

describe('settle', () => {
  it('finishes a NEW order on payment.succeeded', () => {
    expect(settle('NEW', succeeded)).toEqual({ status: 'FINISHED', reason: null });
  });

  it('cancels a NEW order on payment.failed, with its reason', () => {
    expect(settle('NEW', failed)).toEqual({ status: 'CANCELLED', reason: 'insufficient_funds' });
    const noWallet: PaymentResult = { ...failed, payload: { ...failed.payload, reason: 'wallet_not_found' } };
    expect(settle('NEW', noWallet)).toEqual({ status: 'CANCELLED', reason: 'wallet_not_found' });
  });

  it.each<[OrderStatus, string, PaymentResult]>([
    ['FINISHED', 'payment.failed', failed],
    ['FINISHED', 'payment.succeeded', succeeded],
    ['CANCELLED', 'payment.succeeded', succeeded],
    ['CANCELLED', 'payment.failed', failed],
  ])('leaves a %s order as it is on %s', (status, _, result) => {
    expect(settle(status, result)).toBeUndefined();
  });
});

describe('cursors', () => {
  it.each(['1', '42', '999999999999999999'])('round-trips sequence number %s through an opaque url-safe cursor', (seq) => {
    const cursor = encodeCursor(seq);
    expect(cursor).not.toContain(seq);
    // The pattern openapi.yaml gives the cursor parameter.
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toBe(seq);
  });

  it.each([
    ['text', Buffer.from('abc').toString('base64url')],
    ['zero', Buffer.from('0').toString('base64url')],
    ['a leading zero', Buffer.from('012').toString('base64url')],
    ['a negative number', Buffer.from('-5').toString('base64url')],
    ['a fraction', Buffer.from('12.5').toString('base64url')],
    ['SQL', Buffer.from('1 OR 1=1').toString('base64url')],
    ['a number too large for a sequence', Buffer.from('9'.repeat(30)).toString('base64url')],
    ['a cursor with a character changed', 'Aw'],
    ['nothing', ''],
  ])('rejects a cursor that decodes to %s with a 400 naming the cursor', (_, cursor) => {
    let thrown: unknown;
    try {
      decodeCursor(cursor);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(HttpProblem);
    expect((thrown as HttpProblem).toBody()).toMatchObject({
      status: 400,
      errors: [{ in: 'query', name: 'cursor', detail: 'is not a cursor of a previous page' }],
    });
  });
});
