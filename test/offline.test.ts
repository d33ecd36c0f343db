// serverless-offline, started as `npm run offline` starts it (after the build), on the real PostgreSQL and RabbitMQ:
// every HTTP route on the gateway's paths, and the Lambda invoke API driving the migrations, the
// relays and the consumers with the sample events committed in events/.
import type { OperationId } from '../functions/lib/contract.js';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../functions/lib/topology.js';
import type { RmqEvent } from '../functions/lib/rmqEvent.js';
import { manifest } from '../infra/manifest.js';
import { buildRmqEvent } from '../infra/rmq.js';
import { deleteNamespace, messageCount, withChannel } from './support/broker.js';
import { expectResponseMatchesSpec } from './support/contract.js';
import { amqpUrl, databaseUrl, dropDatabase, query, uniqueName } from './support/db.js';
import { freePort, startBundle, type ServiceProcess } from './support/processes.js';
import { root, serverlessBin, serverlessEnv } from './support/serverless.js';
import { waitFor } from './support/system.js';

const namespace = uniqueName('offline');
const payments = `${namespace}_payments`;
const orders = `${namespace}_orders`;
const n = names(namespace);
let offline: ServiceProcess;
let http: string;
let lambda: string;
let sampleConsumerEvent: RmqEvent;
let sampleScheduledEvent: unknown;

interface Invocation { status: number; functionError: string | null; payload: any } // eslint-disable-line -- each test reads what it checks

/** POST /2015-03-31/functions/{name}/invocations: what `aws lambda invoke --endpoint-url` sends. */
async function invoke(name: string, event: unknown): Promise<Invocation> {
  const response = await fetch(`${lambda}/2015-03-31/functions/shop-dev-${name}/invocations`, { method: 'POST', body: JSON.stringify(event) });
  const text = await response.text();
  return { status: response.status, functionError: response.headers.get('x-amz-function-error'), payload: text ? JSON.parse(text) : undefined };
}

async function call(operationId: OperationId, method: string, path: string, body?: unknown) {
  const response = await fetch(http + path, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = response.headers.get('content-type') ?? undefined;
  const text = await response.text();
  const parsed = type?.includes('json') ? JSON.parse(text) : text;
  expectResponseMatchesSpec(operationId, response.status, type, parsed);
  return { status: response.status, body: parsed, headers: response.headers };
}

/** Takes every message waiting in a queue, as the Amazon MQ event source would hand them over. */
async function take(queue: string, atLeast: number): Promise<RmqEvent> {
  const taken: GetMessage[] = [];
  await waitFor(`${atLeast} message(s) on ${queue}`, () =>
    withChannel(async (ch) => {
      for (let m = await ch.get(queue, { noAck: true }); m; m = await ch.get(queue, { noAck: true })) taken.push(m);
      return taken.length >= atLeast;
    }),
  );
  return buildRmqEvent(queue, taken as never);
}

beforeAll(async () => {
  sampleConsumerEvent = JSON.parse(await readFile(join(root, 'events/process-payment.json'), 'utf8'));
  sampleScheduledEvent = JSON.parse(await readFile(join(root, 'events/relay.json'), 'utf8'));
  const [httpPort, lambdaPort] = [await freePort(), await freePort()];
  http = `http://127.0.0.1:${httpPort}`;
  lambda = `http://127.0.0.1:${lambdaPort}`;
  // The same variables serverless.yml reads for a developer's machine, pointed at this file's databases.
  offline = startBundle(
    [serverlessBin, 'offline', '--httpPort', `${httpPort}`, '--lambdaPort', `${lambdaPort}`],
    serverlessEnv({
      PAYMENTS_DATABASE_URL: databaseUrl(payments),
      ORDERS_DATABASE_URL: databaseUrl(orders),
      AMQP_URL: amqpUrl,
      AMQP_NAMESPACE: namespace,
      LOG_LEVEL: 'warn',
    }),
  );
  await waitFor(`serverless offline to start:\n${offline.output()}`, async () => (await fetch(`${http}/openapi.yaml`)).status === 200, 60_000);
}, 90_000);

afterAll(async () => {
  await offline?.stop('SIGINT');
  await Promise.all([dropDatabase(payments), dropDatabase(orders), deleteNamespace(namespace)]);
});

describe('serverless offline', () => {
  it('migrates each database when its migrate function is invoked, and again changes nothing', async () => {
    for (const name of ['migratePayments', 'migrateOrders']) {
      const first = await invoke(name, {});
      expect([first.status, first.functionError], name).toEqual([200, null]);
      expect(first.payload.applied.length, name).toBeGreaterThan(0);
      expect((await invoke(name, {})).payload, name).toEqual({ applied: [] });
    }
  });

  it('serves every HTTP route of serverless.yml on the same path as the gateway, answering as openapi.yaml says', async () => {
    const called = new Set<string>();
    const route = (name: OperationId) => {
      called.add(name);
      return name;
    };
    expect((await call(route('createWallet'), 'POST', '/api/wallet/create', { user_id: 7 })).status).toBe(201);
    expect((await call(route('deposit'), 'POST', '/api/wallet/7/deposit', { amount: 0.1 })).status).toBe(200);
    expect((await call(route('getWallet'), 'GET', '/api/wallet/7')).body.balance).toBe(0.1);
    expect((await call('deposit', 'POST', '/api/wallet/7/deposit', { amount: '5' })).status).toBe(400);
    const placed = await call(route('createPurchase'), 'POST', '/api/purchase', { user_id: 7, amount: 2.5, description: 'Socks' });
    expect(placed.body).toMatchObject({ status: 'NEW', amount: 2.5 });
    expect((await call(route('getPurchase'), 'GET', `/api/purchase/${placed.body.id}`)).body.id).toBe(placed.body.id);
    expect((await call(route('listPurchases'), 'GET', '/api/purchases?user_id=7')).body.purchases).toHaveLength(1);
    expect((await call(route('openapi'), 'GET', '/openapi.yaml')).body).toMatch(/^openapi: 3\.1\.0/);
    expect((await call(route('docs'), 'GET', '/docs')).body).toContain('/docs/swagger-ui-bundle.js');
    expect((await call(route('docsAsset'), 'GET', '/docs/swagger-initializer.js')).status).toBe(200);
    // Routes added to serverless.yml since this test was written are at least served, not 404.
    for (const fn of manifest.filter((f) => f.http.length && !called.has(f.name))) {
      for (const r of fn.http.filter((h) => h.method === 'GET' && !h.path.includes('{'))) {
        const response = await fetch(http + r.path, { signal: AbortSignal.timeout(5_000) }).catch(() => undefined);
        expect(response?.status, `${fn.name} ${r.path}`).not.toBe(404);
        await response?.body?.cancel();
      }
    }
  });

  it('invokes the payment consumer with the sample aws:rmq event: the wallet is debited once, however often it comes', async () => {
    const sample = JSON.parse(Buffer.from(Object.values(sampleConsumerEvent.rmqMessagesByQueue)[0]![0]!.data, 'base64').toString());
    expect(sample).toMatchObject({ type: 'order.payment_requested', payload: { user_id: 1, amount: '1.00' } });
    await call('createWallet', 'POST', '/api/wallet/create', { user_id: 1 });
    await call('deposit', 'POST', '/api/wallet/1/deposit', { amount: 5 });

    for (let i = 0; i < 2; i++) expect(await invoke('processPayment', sampleConsumerEvent)).toMatchObject({ status: 200, functionError: null });
    // The same order again under a new message id (a republished request) is not charged again either.
    const again = structuredClone(sampleConsumerEvent);
    const record = Object.values(again.rmqMessagesByQueue)[0]![0]!;
    const messageId = '00000000-0000-4000-8000-000000000001';
    record.data = Buffer.from(JSON.stringify({ ...sample, message_id: messageId })).toString('base64');
    record.basicProperties.messageId = messageId;
    expect(await invoke('processPayment', again)).toMatchObject({ status: 200, functionError: null });

    expect((await call('getWallet', 'GET', '/api/wallet/1')).body.balance).toBe(4);
    expect(await query(payments, "SELECT amount::text FROM ledger WHERE user_id = 1 AND kind = 'payment'")).toEqual([{ amount: '-1.00' }]);
    expect(await query(payments, 'SELECT order_id, status FROM payments')).toEqual([{ order_id: sample.payload.order_id, status: 'succeeded' }]);
  });

  it('invokes the payments relay with the sample scheduled event: every result reaches the orders queue', async () => {
    const relayed = await invoke('paymentsRelay', sampleScheduledEvent);
    expect([relayed.status, relayed.functionError, relayed.payload?.more], JSON.stringify(relayed.payload)).toEqual([200, null, false]);
    // The relay is also scheduled every minute, and may have taken some rows first: count the queue.
    const outbox = await query(payments, 'SELECT count(*)::int AS rows, count(sent_at)::int AS sent FROM outbox');
    expect(outbox).toEqual([{ rows: 2, sent: 2 }]);
    expect(await messageCount(n.queue('orders.apply-payment-result'))).toBe(2);
    await withChannel((ch) => ch.purgeQueue(n.queue('orders.apply-payment-result')));
  });

  it('takes an order from purchase to FINISHED through the Lambda invoke API alone', async () => {
    const placed = await call('createPurchase', 'POST', '/api/purchase', { user_id: 1, amount: 1.5, description: 'Tea' });
    expect((await invoke('ordersRelay', sampleScheduledEvent)).functionError).toBeNull();
    // Two requests wait: this order's and the one placed by the route test.
    const request = await take(n.queue('payments.process-payment'), 2);
    expect((await invoke('processPayment', request)).functionError).toBeNull();
    expect((await invoke('paymentsRelay', sampleScheduledEvent)).functionError).toBeNull();
    const result = await take(n.queue('orders.apply-payment-result'), 2);
    expect((await invoke('applyPaymentResult', result)).functionError).toBeNull();

    expect((await call('getPurchase', 'GET', `/api/purchase/${placed.body.id}`)).body).toMatchObject({ status: 'FINISHED', reason: null });
    expect((await call('getWallet', 'GET', '/api/wallet/1')).body.balance).toBe(2.5);
  });

  it('reports a malformed message as a failure of the invocation, so Amazon MQ redelivers or dead-letters it', async () => {
    const broken = structuredClone(sampleConsumerEvent);
    Object.values(broken.rmqMessagesByQueue)[0]![0]!.data = Buffer.from('{"not": "an envelope"}').toString('base64');
    const answer = await invoke('processPayment', broken);
    expect(answer.functionError).not.toBeNull();
    expect(answer.payload.errorMessage).toBe('1 message(s) of the batch failed');
    expect((await call('getWallet', 'GET', '/api/wallet/1')).body.balance).toBe(2.5);
  });
});
