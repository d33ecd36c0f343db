// The order flow across both services on the real PostgreSQL and RabbitMQ: orders paid or cancelled,
// exactly once, while the broker or a database goes away and comes back, and past a poison message.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Runner } from '../infra/runner.js';
import { names } from '../functions/lib/topology.js';
import { deleteNamespace, messageCount, withChannel } from './support/broker.js';
import { amqpUrl, databaseUrl, dropDatabase, query, uniqueName } from './support/db.js';
import { api, configure, shopDriver, startService, waitFor, type Api } from './support/system.js';
import { startTcpProxy, throughProxy, type TcpProxy } from './support/tcpProxy.js';

const namespace = uniqueName('flow');
const paymentsDb = `${namespace}_payments`;
const ordersDb = `${namespace}_orders`;
let broker: TcpProxy;
let paymentsPostgres: TcpProxy;
let runners: Runner[] = [];
let payments: Api;
let orders: Api;
const { walletWith, order, settled, balance, newUser } = shopDriver(() => ({ payments, orders }));

beforeAll(async () => {
  broker = await startTcpProxy(Number(new URL(amqpUrl).port));
  paymentsPostgres = await startTcpProxy(5432);
  configure({
    PAYMENTS_DATABASE_URL: throughProxy(databaseUrl(paymentsDb), paymentsPostgres),
    ORDERS_DATABASE_URL: databaseUrl(ordersDb),
    AMQP_URL: throughProxy(amqpUrl, broker),
    AMQP_NAMESPACE: namespace,
    AMQP_DELIVERY_LIMIT: '50',
  });
  runners = [await startService('payments'), await startService('orders')];
  payments = api(`http://127.0.0.1:${runners[0]!.port}`);
  orders = api(`http://127.0.0.1:${runners[1]!.port}`);
});

afterAll(async () => {
  await Promise.all(runners.map((r) => r.stop()));
  await Promise.all([broker.close(), paymentsPostgres.close()]);
  await Promise.all([dropDatabase(paymentsDb), dropDatabase(ordersDb), deleteNamespace(namespace)]);
});

async function ledgerOf(userId: number): Promise<{ sum: string; payments: number }> {
  const [row] = await query<{ sum: string; payments: number }>(
    paymentsDb,
    "SELECT coalesce(sum(amount), 0)::text AS sum, count(*) FILTER (WHERE kind = 'payment')::int AS payments FROM ledger WHERE user_id = $1",
    [userId],
  );
  return row!;
}

describe('the order flow', () => {
  it('pays an order the wallet can afford and cancels, with a reason, one it cannot', async () => {
    const userId = await walletWith(5);
    expect(await settled(await order(userId, 3))).toMatchObject({ status: 'FINISHED', reason: null });
    expect(await settled(await order(userId, 3))).toMatchObject({ status: 'CANCELLED', reason: 'insufficient_funds' });
    expect(await settled(await order(newUser(), 1))).toMatchObject({ status: 'CANCELLED', reason: 'wallet_not_found' });
    expect(await balance(userId)).toBe(2);
    expect(await ledgerOf(userId)).toEqual({ sum: '2.00', payments: 1 });
  });

  it('settles 50 concurrent orders of 1.00 on a wallet of 20.00 as 20 paid and 30 cancelled, leaving 0.00', async () => {
    const userId = await walletWith(20);
    const ids = await Promise.all(Array.from({ length: 50 }, () => order(userId, 1)));
    const outcomes = await Promise.all(ids.map((id) => settled(id, 30_000)));
    expect(outcomes.filter((o) => o.status === 'FINISHED')).toHaveLength(20);
    expect(outcomes.filter((o) => o.status === 'CANCELLED' && o.reason === 'insufficient_funds')).toHaveLength(30);
    expect(await balance(userId)).toBe(0);
    expect(await ledgerOf(userId)).toEqual({ sum: '0.00', payments: 20 });
    const [paid] = await query<{ n: number }>(paymentsDb, "SELECT count(*)::int AS n FROM payments WHERE user_id = $1 AND status = 'succeeded'", [userId]);
    expect(paid!.n).toBe(20);
  });

  it('accepts an order while RabbitMQ is down and pays it once the broker is back', async () => {
    const userId = await walletWith(10);
    await broker.cut();
    try {
      const id = await order(userId, 4);
      const notReady = await waitFor('orders to see RabbitMQ gone', async () => {
        const ready = await orders.get('/ready');
        return ready.status === 503 && ready;
      });
      expect((await orders.get(`/api/purchase/${id}`)).body.status).toBe('NEW');
      expect(notReady.body.checks).toMatchObject({ database: { ok: true }, broker: { ok: false } });
      await broker.restore();
      expect(await settled(id, 30_000)).toMatchObject({ status: 'FINISHED' });
      await waitFor('orders to be ready again', async () => (await orders.get('/ready')).status === 200);
    } finally {
      await broker.restore();
    }
    expect(await balance(userId)).toBe(6);
    expect((await ledgerOf(userId)).payments).toBe(1);
  });

  it('pays an order placed while the payments database is unreachable once it is back, once', async () => {
    const userId = await walletWith(10);
    await paymentsPostgres.cut();
    let id: string;
    try {
      id = await order(userId, 7);
      const orderId = id;
      // Published: from here the payments consumer holds the request and cannot reach its database.
      await waitFor('the payment request to be published', async () =>
        (await query(ordersDb, 'SELECT 1 FROM outbox WHERE correlation_id = $1 AND sent_at IS NOT NULL', [orderId])).length === 1,
      );
      expect((await orders.get(`/api/purchase/${id}`)).body.status).toBe('NEW');
      // Reading the wallet now fails cleanly: a problem, not a hang or a stack trace.
      const unavailable = await payments.get(`/api/wallet/${userId}`);
      expect(unavailable.status).toBe(503);
      expect(unavailable.headers.get('content-type')).toBe('application/problem+json');
      const notReady = await payments.get('/ready');
      expect(notReady.status).toBe(503);
      expect(notReady.body.checks).toMatchObject({ database: { ok: false }, broker: { ok: true } });
      expect((await payments.get('/health')).status).toBe(200);
    } finally {
      await paymentsPostgres.restore();
    }
    expect(await settled(id, 30_000)).toMatchObject({ status: 'FINISHED' });
    const ready = await waitFor('payments to be ready', async () => {
      const answer = await payments.get('/ready');
      return answer.status === 200 && answer.body;
    });
    expect(ready.checks.database.outbox).toEqual({ unsent: 0, oldest_unsent_seconds: null });
    expect(await balance(userId)).toBe(3);
    expect((await ledgerOf(userId)).payments).toBe(1);
  });

  it('moves a poison message to the dead-letter queue and goes on with the next one', async () => {
    const n = names(namespace);
    const deadLetters = n.deadLetterQueue('payments.process-payment');
    const before = await messageCount(deadLetters);
    await withChannel(async (ch) => {
      ch.publish(n.exchange, 'order.payment_requested', Buffer.from('{"not": "an envelope"'), { persistent: true, messageId: 'poison-1' });
    });
    await waitFor('the poison message in the dead-letter queue', async () => (await messageCount(deadLetters)) === before + 1);
    const kept = await withChannel(async (ch) => {
      const message = await ch.get(deadLetters, { noAck: false });
      if (!message) return undefined;
      ch.nack(message, false, true);
      return { body: message.content.toString(), id: message.properties.messageId as string };
    });
    expect(kept).toEqual({ body: '{"not": "an envelope"', id: 'poison-1' });

    const userId = await walletWith(2);
    expect(await settled(await order(userId, 2))).toMatchObject({ status: 'FINISHED' });
  });
});
