import { describe, expect, it } from 'vitest';
import type { MessageProperties, XDeath } from 'amqplib';
import { describeDeadLetter, originOf, renderListing, republishOptions, resolveQueue, UsageError, type DeadLetter } from './deadLetters.js';

const orderId = '0b8f6a4e-3c1d-4e57-9a43-2f7d1c6b9e10';
const messageId = 'c5a7e2f0-8d6b-4a3e-b1c9-7e4d2a6f0b58';

function properties(overrides: Partial<MessageProperties> = {}): MessageProperties {
  return {
    contentType: 'application/json',
    contentEncoding: undefined,
    headers: {},
    deliveryMode: 2,
    priority: undefined,
    correlationId: undefined,
    replyTo: undefined,
    expiration: undefined,
    messageId,
    timestamp: 1_764_000_000,
    type: 'order.payment_requested',
    userId: undefined,
    appId: undefined,
    clusterId: undefined,
    ...overrides,
  };
}

// amqplib's XDeath has no 'delivery_limit', the reason quorum queues give.
const xDeath = (reason: string, count: number, queue = 'shop.payments.process-payment') =>
  ({
    count,
    reason,
    queue,
    time: { '!': 'timestamp', value: 1_764_000_060 },
    exchange: 'shop',
    'routing-keys': ['order.payment_requested'],
  }) as XDeath;

const envelope = Buffer.from(JSON.stringify({ message_id: messageId, type: 'order.payment_requested', payload: { order_id: orderId } }));

describe('resolveQueue', () => {
  const pair = { queue: 'shop.payments.process-payment', deadLetterQueue: 'shop.payments.process-payment.dead' };

  it('knows a queue by its short name, its full name or its dead-letter queue', () => {
    expect(resolveQueue('shop', 'payments.process-payment')).toEqual(pair);
    expect(resolveQueue('shop', 'shop.payments.process-payment')).toEqual(pair);
    expect(resolveQueue('shop', 'shop.payments.process-payment.dead')).toEqual(pair);
  });

  it('refuses a queue of another namespace or none, naming the ones there are', () => {
    expect(() => resolveQueue('shop', 'other.payments.process-payment')).toThrow(UsageError);
    expect(() => resolveQueue('shop', 'payments')).toThrow(/the queues are shop.payments.process-payment, shop.orders.apply-payment-result/);
  });
});

describe('describeDeadLetter', () => {
  it('reads type, order, reason, deaths and where it died from the properties and x-death', () => {
    const message = {
      content: envelope,
      properties: properties({
        correlationId: orderId,
        headers: { 'x-death': [xDeath('delivery_limit', 2), xDeath('rejected', 1)], 'x-first-death-queue': 'shop.payments.process-payment' },
      }),
    };
    expect(describeDeadLetter(message)).toEqual<DeadLetter>({
      messageId,
      type: 'order.payment_requested',
      orderId,
      reason: 'delivery_limit',
      deaths: 3,
      diedIn: 'shop.payments.process-payment',
      diedAt: '2025-11-24T16:01:00.000Z',
    });
  });

  it('takes the order id from the body when there is no correlation id', () => {
    expect(describeDeadLetter({ content: envelope, properties: properties() }).orderId).toBe(orderId);
  });

  it('describes a poison message without failing: no order, no type, no x-death', () => {
    const poison = { content: Buffer.from('{"not": "an envelope"'), properties: properties({ messageId: undefined, type: undefined }) };
    expect(describeDeadLetter(poison)).toEqual<DeadLetter>({
      messageId: null,
      type: null,
      orderId: null,
      reason: null,
      deaths: 0,
      diedIn: null,
      diedAt: null,
    });
  });
});

describe('originOf', () => {
  const pair = resolveQueue('shop', 'payments.process-payment');

  it('sends a dead letter back to the queue it died in', () => {
    const died = { properties: properties({ headers: { 'x-death': [xDeath('rejected', 1, 'shop.orders.apply-payment-result')] } }) };
    expect(originOf(died, pair, 'shop')).toBe('shop.orders.apply-payment-result');
  });

  it('falls back to the queue of the dead-letter queue, and refuses a queue outside the namespace', () => {
    expect(originOf({ properties: properties() }, pair, 'shop')).toBe('shop.payments.process-payment');
    const elsewhere = { properties: properties({ headers: { 'x-death': [xDeath('rejected', 1, 'billing.charge')] } }) };
    expect(originOf(elsewhere, pair, 'shop')).toBeUndefined();
  });
});

describe('republishOptions', () => {
  it('keeps the message id, type, correlation id and headers, and drops the delivery count', () => {
    const options = republishOptions(
      properties({ correlationId: orderId, userId: 'guest', headers: { 'x-death': [xDeath('rejected', 1)], 'x-delivery-count': 3, trace: 'abc' } }),
    );
    expect(options).toEqual({
      contentType: 'application/json',
      correlationId: orderId,
      messageId,
      timestamp: 1_764_000_000,
      type: 'order.payment_requested',
      headers: { 'x-death': [xDeath('rejected', 1)], trace: 'abc' },
      persistent: true,
      mandatory: true,
    });
  });
});

describe('renderListing', () => {
  const row: DeadLetter = {
    messageId,
    type: 'order.payment_requested',
    orderId,
    reason: 'delivery_limit',
    deaths: 1,
    diedIn: 'shop.payments.process-payment',
    diedAt: '2025-11-24T16:01:00.000Z',
  };
  const payments = { queue: 'shop.payments.process-payment', deadLetterQueue: 'shop.payments.process-payment.dead', exists: true };
  const orders = { queue: 'shop.orders.apply-payment-result', deadLetterQueue: 'shop.orders.apply-payment-result.dead', exists: true };

  it('prints each queue with its dead letters in aligned columns', () => {
    const poison: DeadLetter = { messageId: 'poison-1', type: null, orderId: null, reason: 'rejected', deaths: 1, diedIn: 'shop.payments.process-payment', diedAt: null };
    expect(renderListing([{ ...payments, messages: [row, poison] }, { ...orders, messages: [] }]).split('\n')).toEqual([
      'shop.payments.process-payment.dead: 2 dead letters',
      '  MESSAGE ID                            TYPE                     ORDER ID                              REASON          DEATHS  DIED IN                        LAST DIED',
      `  ${messageId}  order.payment_requested  ${orderId}  delivery_limit  1       shop.payments.process-payment  2025-11-24T16:01:00.000Z`,
      '  poison-1                              -                        -                                     rejected        1       shop.payments.process-payment  -',
      'shop.orders.apply-payment-result.dead: empty',
    ]);
  });

  it('says when a dead-letter queue does not exist', () => {
    expect(renderListing([{ ...payments, exists: false, messages: [] }])).toBe(
      'shop.payments.process-payment.dead: not declared (nothing of this namespace has run on this broker)',
    );
  });
});
