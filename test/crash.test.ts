// Crashes at the two worst moments, on the real PostgreSQL and RabbitMQ: a relay that published but
// died before marking its rows sent, and a consumer that committed but died before acknowledging.
// Either way the message arrives twice, and the wallet is debited once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Publisher } from '../functions/lib/amqp.js';
import { createPool, type Db } from '../functions/lib/db.js';
import { relayBatch } from '../functions/lib/outbox.js';
import { names } from '../functions/lib/topology.js';
import { functionsOf } from '../infra/manifest.js';
import { buildRmqEvent } from '../infra/rmq.js';
import type { Runner } from '../infra/runner.js';
import { deleteNamespace, messageCount } from './support/broker.js';
import { amqpUrl, databaseUrl, dropDatabase, query, uniqueName } from './support/db.js';
import { api, configure, loadSource, shopDriver, startService, waitFor, type Api } from './support/system.js';
import amqp from 'amqplib';

const namespace = uniqueName('crash');
const paymentsDb = `${namespace}_payments`;
const ordersDb = `${namespace}_orders`;
const paymentQueue = names(namespace).queue('payments.process-payment');
const runners: Runner[] = [];
let payments: Api;
let orders: Api;
let ordersOutbox: Db;
let publisher: Publisher;
const { walletWith, order, settled } = shopDriver(() => ({ payments, orders }), 'crash test');

const allBut = (service: 'payments' | 'orders', left: string) => functionsOf(service).map((f) => f.name).filter((n) => n !== left);

beforeAll(async () => {
  configure({
    PAYMENTS_DATABASE_URL: databaseUrl(paymentsDb),
    ORDERS_DATABASE_URL: databaseUrl(ordersDb),
    AMQP_URL: amqpUrl,
    AMQP_NAMESPACE: namespace,
  });
  ordersOutbox = createPool(databaseUrl(ordersDb), 2);
  publisher = await Publisher.connect(amqpUrl, namespace, 20, 'test-relay');
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await Promise.all([ordersOutbox.end(), publisher.close()]);
  await Promise.all([dropDatabase(paymentsDb), dropDatabase(ordersDb), deleteNamespace(namespace)]);
});

async function debitsOf(orderId: string): Promise<{ ledger: number; results: number }> {
  const [row] = await query<{ ledger: number; results: number }>(
    paymentsDb,
    `SELECT (SELECT count(*)::int FROM ledger WHERE order_id = $1) AS ledger,
            (SELECT count(*)::int FROM outbox WHERE correlation_id = $1) AS results`,
    [orderId],
  );
  return row!;
}

describe('a crash between two steps', () => {
  it('a relay that dies after publishing and before marking sent: the copy is dropped by the inbox', async () => {
    // The orders relay is left out: this test drives it by hand, and crashes it.
    runners.push(await startService('payments'), await startService('orders', allBut('orders', 'ordersRelay')));
    payments = api(`http://127.0.0.1:${runners[0]!.port}`);
    orders = api(`http://127.0.0.1:${runners[1]!.port}`);
    const userId = await walletWith(10);
    const orderId = await order(userId, 3);

    const crashing = { publish: async (m: Parameters<Publisher['publish']>[0]) => {
      await publisher.publish(m);
      throw new Error('relay died before marking its rows sent');
    } } as unknown as Publisher;
    await expect(relayBatch(ordersOutbox, crashing, 10)).rejects.toThrow('relay died');
    const [unsent] = await query<{ n: number }>(ordersDb, 'SELECT count(*)::int AS n FROM outbox WHERE sent_at IS NULL');
    expect(unsent!.n).toBe(1);
    expect((await settled(orderId)).status).toBe('FINISHED');

    // The relay comes back and publishes the same row again, followed by a later order (and the
    // first order's status change).
    const laterId = await order(userId, 2);
    expect(await relayBatch(ordersOutbox, publisher, 10)).toEqual({ claimed: 3, sent: 3 });
    expect((await settled(laterId)).status).toBe('FINISHED');

    expect(await debitsOf(orderId)).toEqual({ ledger: 1, results: 1 });
    expect((await payments.get(`/api/wallet/${userId}`)).body.balance).toBe(5);
    const [inbox] = await query<{ n: number }>(paymentsDb, 'SELECT count(*)::int AS n FROM inbox');
    expect(inbox!.n).toBe(2);
  });

  it('a consumer that dies after its commit and before its ack: the redelivery debits nothing', async () => {
    await Promise.all(runners.splice(0).map((r) => r.stop()));
    // Payments without its consumer, so the message waits in the queue for this test to take it.
    runners.push(await startService('payments', allBut('payments', 'processPayment')), await startService('orders'));
    payments = api(`http://127.0.0.1:${runners[0]!.port}`);
    orders = api(`http://127.0.0.1:${runners[1]!.port}`);
    const userId = await walletWith(10);
    const orderId = await order(userId, 4);
    await waitFor('the payment request in its queue', async () => (await messageCount(paymentQueue)) === 1);

    const processPayment = await loadSource(functionsOf('payments').find((f) => f.name === 'processPayment')!);
    const connection = await amqp.connect(amqpUrl);
    const channel = await connection.createChannel();
    const delivery = await channel.get(paymentQueue, { noAck: false });
    expect(delivery).not.toBe(false);
    await processPayment(buildRmqEvent(paymentQueue, [delivery as unknown as amqp.ConsumeMessage]) as never, {} as never);
    expect(await debitsOf(orderId)).toEqual({ ledger: 1, results: 1 });
    await connection.close(); // dies before the ack: the broker puts the message back
    await waitFor('the message back in its queue', async () => (await messageCount(paymentQueue)) === 1);

    const consumer = await startService('payments', ['processPayment']);
    await waitFor('the redelivery to be consumed', async () => (await messageCount(paymentQueue)) === 0);
    expect((await settled(orderId)).status).toBe('FINISHED');
    await consumer.stop(); // waits for the batch in flight and acknowledges it
    expect(await messageCount(paymentQueue)).toBe(0);

    expect(await debitsOf(orderId)).toEqual({ ledger: 1, results: 1 });
    expect((await payments.get(`/api/wallet/${userId}`)).body.balance).toBe(6);
    const messageId = (delivery as amqp.GetMessage).properties.messageId as string;
    const [seen] = await query<{ n: number }>(paymentsDb, 'SELECT count(*)::int AS n FROM inbox WHERE message_id = $1', [messageId]);
    expect(seen!.n).toBe(1);
  });
});
