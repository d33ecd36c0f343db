import { describe, expect, it } from 'vitest';
import { parseEnvelope, type Envelope } from './messages.js';

const requested: Envelope<'order.payment_requested'> = {
  message_id: '5b0f6b3c-8d0e-4a5e-9f5a-1c2d3e4f5a6b',
  type: 'order.payment_requested',
  occurred_at: '2025-01-31T10:00:00.000Z',
  payload: { order_id: '0b7c9a52-3f7e-4f5e-9a41-2d1f1c3b9e10', user_id: 42, amount: '12.30' },
};

const failed: Envelope<'payment.failed'> = {
  ...requested,
  type: 'payment.failed',
  payload: { ...requested.payload, reason: 'insufficient_funds' },
};

const results = ['payment.succeeded', 'payment.failed'] as const;

/** The envelope with some of its fields (or payload fields) replaced; `undefined` leaves one out. */
function variant(base: Envelope, fields: Record<string, unknown>, payload: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...base, ...fields, payload: { ...base.payload, ...payload } });
}

describe('parseEnvelope accepts', () => {
  it('a good envelope of an expected type, as it was sent', () => {
    expect(parseEnvelope(JSON.stringify(requested), ['order.payment_requested'])).toEqual(requested);
  });

  it('each type among several expected ones', () => {
    expect(parseEnvelope(JSON.stringify(failed), results)).toEqual(failed);
    const succeeded = { ...requested, type: 'payment.succeeded' };
    expect(parseEnvelope(JSON.stringify(succeeded), results)).toEqual(succeeded);
  });

  it('a failure for each known reason', () => {
    const notFound = { ...failed, payload: { ...failed.payload, reason: 'wallet_not_found' } };
    expect(parseEnvelope(JSON.stringify(notFound), results)).toEqual(notFound);
  });

  it('a status change', () => {
    const changed: Envelope<'order.status_changed'> = {
      ...requested,
      type: 'order.status_changed',
      payload: { ...requested.payload, status: 'CANCELLED', reason: 'wallet_not_found', updated_at: '2025-01-31T10:00:01.000Z' },
    };
    expect(parseEnvelope(JSON.stringify(changed), ['order.status_changed'])).toEqual(changed);
  });

  it('the largest safe user id and amount', () => {
    const big = { ...requested, payload: { ...requested.payload, user_id: 2 ** 53 - 1, amount: '999999999999.99' } };
    expect(parseEnvelope(JSON.stringify(big), ['order.payment_requested'])).toEqual(big);
  });
});

describe('parseEnvelope rejects', () => {
  const expectRejected = (body: string, types: readonly Envelope['type'][] = ['order.payment_requested']) =>
    expect(parseEnvelope(body, types), body).toBeUndefined();

  it('a body that is not JSON', () => {
    for (const body of ['', 'not json', '{"message_id":', '\u0000']) expectRejected(body);
  });

  it('JSON that is not an object', () => {
    for (const body of ['null', '42', '"text"', '[]', 'true']) expectRejected(body);
  });

  it('an envelope of a type that was not expected', () => {
    expectRejected(JSON.stringify(requested), results);
    expectRejected(variant(requested, { type: 'order.unknown' }));
    expectRejected(variant(requested, { type: undefined }));
  });

  it('a message id that is not a uuid', () => {
    for (const message_id of ['42', 'not-a-uuid', '5b0f6b3c-8d0e-4a5e-9f5a-1c2d3e4f5a6', 42, null, undefined]) {
      expectRejected(variant(requested, { message_id }));
    }
  });

  it('an envelope without its occurred_at', () => {
    expectRejected(variant(requested, { occurred_at: undefined }));
    expectRejected(variant(requested, { occurred_at: 1738317600 }));
  });

  it('a user id that is not a positive safe integer', () => {
    for (const user_id of [1.5, '42', 0, -1, 2 ** 53, null, undefined]) expectRejected(variant(requested, {}, { user_id }));
  });

  it('an amount that is not a decimal string with two places', () => {
    for (const amount of ['1.5', 12.3, '12', '-1.00', '1.234', '1e3', '', null, undefined]) expectRejected(variant(requested, {}, { amount }));
  });

  it('an order id that is not a uuid', () => {
    for (const order_id of ['order-1', 7, undefined]) expectRejected(variant(requested, {}, { order_id }));
  });

  it('an envelope with a missing or non-object payload', () => {
    const { payload: _, ...withoutPayload } = requested;
    expectRejected(JSON.stringify(withoutPayload));
    for (const payload of [null, 'payload', 42]) expectRejected(JSON.stringify({ ...requested, payload }));
  });

  it('a failure without a known reason', () => {
    for (const reason of [undefined, null, 'declined', '']) expectRejected(variant(failed, {}, { reason }), results);
  });

  it('a status change with an unknown status', () => {
    const changed = { ...requested, type: 'order.status_changed', payload: { ...requested.payload, status: 'PAID', reason: null } };
    expectRejected(JSON.stringify(changed), ['order.status_changed']);
  });
});
