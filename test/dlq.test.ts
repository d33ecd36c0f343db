// Dead letters an operator can act on, on the real PostgreSQL and RabbitMQ: a payment request that
// dead-lettered while the payments database was unreachable is listed with its reason, re-driven
// once the database is back, and debits the wallet once however often it is re-driven.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GetMessage } from 'amqplib';
import type { Runner } from '../infra/runner.js';
import { names } from '../functions/lib/topology.js';
import { listDeadLetters, redrive, type Broker } from '../scripts/dlq.js';
import { deleteNamespace, messageCount, withChannel } from './support/broker.js';
import { amqpUrl, databaseUrl, dropDatabase, query, uniqueName } from './support/db.js';
import { api, configure, shopDriver, startService, waitFor, type Api } from './support/system.js';
import { startTcpProxy, throughProxy, type TcpProxy } from './support/tcpProxy.js';

const namespace = uniqueName('dlq');
const paymentsDb = `${namespace}_payments`;
const ordersDb = `${namespace}_orders`;
const n = names(namespace);
const paymentQueue = n.queue('payments.process-payment');
const paymentDeadLetters = n.deadLetterQueue('payments.process-payment');
const broker: Broker = { url: amqpUrl, namespace };
let paymentsPostgres: TcpProxy;
let runners: Runner[] = [];
let payments: Api;
let orders: Api;

beforeAll(async () => {
  paymentsPostgres = await startTcpProxy(Number(new URL(databaseUrl(paymentsDb)).port || 5432));
  configure({
    PAYMENTS_DATABASE_URL: throughProxy(databaseUrl(paymentsDb), paymentsPostgres),
    ORDERS_DATABASE_URL: databaseUrl(ordersDb),
    AMQP_URL: amqpUrl,
    AMQP_NAMESPACE: namespace,
    // A payment request dead-letters after two failed deliveries, in well under a second.
    AMQP_DELIVERY_LIMIT: '2',
  });
  runners = [await startService('payments'), await startService('orders')];
  payments = api(`http://127.0.0.1:${runners[0]!.port}`);
  orders = api(`http://127.0.0.1:${runners[1]!.port}`);
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await paymentsPostgres.close();
  await Promise.all([dropDatabase(paymentsDb), dropDatabase(ordersDb), deleteNamespace(namespace)]);
});

const { order, statusOf, settled } = shopDriver(() => ({ payments, orders }), 'a dead-letter test');

async function debits(userId: number): Promise<{ orderId: string; amount: string }[]> {
  return query(paymentsDb, "SELECT order_id AS \"orderId\", amount::text FROM ledger WHERE user_id = $1 AND kind = 'payment' ORDER BY id", [userId]);
}

/** The dead letter exactly as it sits in its queue, left there. */
async function copyOfDeadLetter(): Promise<Pick<GetMessage, 'content' | 'properties'>> {
  return withChannel(async (ch) => {
    const message = await ch.get(paymentDeadLetters, { noAck: false });
    if (!message) throw new Error('the dead-letter queue is empty');
    ch.nack(message, false, true);
    return { content: message.content, properties: message.properties };
  });
}

describe('dead letters', () => {
  const userId = 1;
  let orderId: string;
  let deadLetter: Pick<GetMessage, 'content' | 'properties'>;

  it('lists a payment request that dead-lettered while the payments database was unreachable, and leaves it there', async () => {
    expect((await payments.post('/api/wallet/create', { user_id: userId })).status).toBe(201);
    expect((await payments.post(`/api/wallet/${userId}/deposit`, { amount: 10 })).status).toBe(200);

    await paymentsPostgres.cut();
    try {
      orderId = await order(userId, 7);
      await waitFor('the payment request in the dead-letter queue', async () => (await messageCount(paymentDeadLetters)) === 1);
    } finally {
      await paymentsPostgres.restore();
    }
    expect(await statusOf(orderId)).toBe('NEW');

    for (let listing = 0; listing < 2; listing++) {
      const listings = await listDeadLetters(broker);
      expect(listings.map((l) => [l.deadLetterQueue, l.exists, l.messages.length])).toEqual([
        [paymentDeadLetters, true, 1],
        [n.deadLetterQueue('orders.apply-payment-result'), true, 0],
      ]);
      expect(listings[0]!.messages[0]).toMatchObject({
        type: 'order.payment_requested',
        orderId,
        reason: 'delivery_limit',
        deaths: 1,
        diedIn: paymentQueue,
      });
      expect(listings[0]!.messages[0]!.messageId).toMatch(/^[0-9a-f-]{36}$/);
    }
    expect(await messageCount(paymentDeadLetters)).toBe(1);
    deadLetter = await copyOfDeadLetter();
  });

  it('re-drives it once the database is back: the order is paid, and only that message moves', async () => {
    const messageId = String(deadLetter.properties.messageId);
    const missing = await redrive(broker, 'payments.process-payment', { id: 'not-a-message' });
    expect([missing.moved, missing.left]).toEqual([[], []]);
    expect(await messageCount(paymentDeadLetters)).toBe(1);

    const result = await redrive(broker, 'payments.process-payment', { id: messageId });
    expect(result.moved).toMatchObject([{ messageId, orderId, type: 'order.payment_requested' }]);
    expect(result.left).toEqual([]);
    expect((await settled(orderId)).status).toBe('FINISHED');
    expect(await messageCount(paymentDeadLetters)).toBe(0);
    expect((await payments.get(`/api/wallet/${userId}`)).body.balance).toBe(3);
    expect(await debits(userId)).toEqual([{ orderId, amount: '-7.00' }]);
  });

  it('debits once when the same dead letter is re-driven again', async () => {
    // As if a first redrive had published the message and died before removing the dead letter.
    await withChannel(async (ch) => {
      ch.sendToQueue(paymentDeadLetters, deadLetter.content, { ...deadLetter.properties, persistent: true });
    });
    const again = await redrive(broker, `${namespace}.payments.process-payment.dead`, { all: true });
    expect(again.moved.map((d) => d.messageId)).toEqual([deadLetter.properties.messageId]);
    expect(await redrive(broker, 'payments.process-payment', { all: true })).toMatchObject({ moved: [], left: [] });

    // The payments consumer takes its queue in order: once a later order is paid, the copy was handled.
    const later = await order(userId, 1);
    expect((await settled(later)).status).toBe('FINISHED');
    await waitFor('the payments queue to drain', async () => (await messageCount(paymentQueue)) === 0);
    expect(await debits(userId)).toEqual([
      { orderId, amount: '-7.00' },
      { orderId: later, amount: '-1.00' },
    ]);
    expect((await payments.get(`/api/wallet/${userId}`)).body.balance).toBe(2);
    const [seen] = await query<{ n: number }>(paymentsDb, 'SELECT count(*)::int AS n FROM inbox WHERE message_id = $1', [
      deadLetter.properties.messageId,
    ]);
    expect(seen!.n).toBe(1);
    expect((await listDeadLetters(broker)).every((l) => l.messages.length === 0)).toBe(true);
  });
});
