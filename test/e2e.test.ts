// End to end: the three services started from their bundles, each its own process, driven through
// the gateway with plain HTTP, every answer checked against openapi.yaml.
import type { OperationId } from '../functions/lib/contract.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from './support/broker.js';
import { expectResponseMatchesSpec } from './support/contract.js';
import { amqpUrl, databaseUrl, dropDatabase, uniqueName } from './support/db.js';
import { freePort, startBundle, type ServiceProcess } from './support/processes.js';
import { waitFor } from './support/system.js';

const namespace = uniqueName('e2e');
const services: Record<string, ServiceProcess> = {};
let gateway: string;

interface Answer {
  status: number;
  type: string | undefined;
  text: string;
  json: any; // eslint-disable-line -- each test reads the fields it checks
  headers: Headers;
}

async function call(operationId: OperationId | undefined, path: string, init: RequestInit = {}): Promise<Answer> {
  const response = await fetch(gateway + path, init);
  const text = await response.text();
  const type = response.headers.get('content-type') ?? undefined;
  const json = type?.includes('json') ? JSON.parse(text) : undefined;
  if (operationId) expectResponseMatchesSpec(operationId, response.status, type, json ?? text);
  return { status: response.status, type, text, json, headers: response.headers };
}

const post = (operationId: OperationId, path: string, body: unknown) =>
  call(operationId, path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

beforeAll(async () => {
  const [payments, orders, gatewayPort] = [await freePort(), await freePort(), await freePort()];
  const common = { AMQP_URL: amqpUrl, AMQP_NAMESPACE: namespace, LOG_LEVEL: 'warn' };
  services.payments = startBundle(['dist/runner.mjs', 'payments'], { ...common, PORT: `${payments}`, DATABASE_URL: databaseUrl(`${namespace}_payments`) });
  services.orders = startBundle(['dist/runner.mjs', 'orders'], { ...common, PORT: `${orders}`, DATABASE_URL: databaseUrl(`${namespace}_orders`) });
  services.gateway = startBundle(['dist/runner.mjs', 'gateway'], {
    ...common,
    PORT: `${gatewayPort}`,
    PAYMENTS_URL: `http://127.0.0.1:${payments}`,
    ORDERS_URL: `http://127.0.0.1:${orders}`,
  });
  gateway = `http://127.0.0.1:${gatewayPort}`;
  await waitFor('the system to answer', async () => {
    const [wallets, purchases] = await Promise.all([fetch(`${gateway}/api/wallet/1`), fetch(`${gateway}/api/purchases`)]);
    return wallets.status === 404 && purchases.status === 200;
  });
});

afterAll(async () => {
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await Promise.all([dropDatabase(`${namespace}_payments`), dropDatabase(`${namespace}_orders`), deleteNamespace(namespace)]);
});

async function settled(id: string) {
  return waitFor(`order ${id} to settle`, async () => {
    const answer = await call('getPurchase', `/api/purchase/${id}`);
    return answer.json.status === 'NEW' ? undefined : answer;
  });
}

describe('Shop through its gateway', () => {
  it('creates a wallet, takes deposits exactly, and pays an order', async () => {
    const created = await post('createWallet', '/api/wallet/create', { user_id: 1 });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/wallet/1');
    expect(created.text).toContain('"balance":0.00');
    expect((await post('createWallet', '/api/wallet/create', { user_id: 1 })).status).toBe(409);

    for (let i = 0; i < 3; i++) await post('deposit', '/api/wallet/1/deposit', { amount: 0.1 });
    const wallet = await call('getWallet', '/api/wallet/1');
    expect(wallet.text).toContain('"balance":0.30');

    await post('deposit', '/api/wallet/1/deposit', { amount: 9.7 });
    const placed = await post('createPurchase', '/api/purchase', { user_id: 1, amount: 2.5, description: 'A pair of socks' });
    expect(placed.status).toBe(201);
    expect(placed.json).toMatchObject({ status: 'NEW', amount: 2.5, user_id: 1, reason: null });
    expect(placed.headers.get('location')).toBe(`/api/purchase/${placed.json.id}`);
    expect((await settled(placed.json.id)).json).toMatchObject({ status: 'FINISHED', reason: null });
    expect((await call('getWallet', '/api/wallet/1')).text).toContain('"balance":7.50');
  });

  it('cancels an order over the balance, and one without a wallet, saying why', async () => {
    const over = await post('createPurchase', '/api/purchase', { user_id: 1, amount: 100, description: 'A boat' });
    expect((await settled(over.json.id)).json).toMatchObject({ status: 'CANCELLED', reason: 'insufficient_funds' });
    const nobody = await post('createPurchase', '/api/purchase', { user_id: 2, amount: 1, description: 'Gum' });
    expect((await settled(nobody.json.id)).json).toMatchObject({ status: 'CANCELLED', reason: 'wallet_not_found' });
    expect((await call('getWallet', '/api/wallet/1')).text).toContain('"balance":7.50');

    const first = await call('listPurchases', '/api/purchases?user_id=1&limit=1');
    expect(first.json.purchases.map((p: { id: string }) => p.id)).toEqual([over.json.id]);
    const second = await call('listPurchases', `/api/purchases?user_id=1&limit=1&cursor=${first.json.next_cursor}`);
    expect(second.json.purchases).toMatchObject([{ description: 'A pair of socks', status: 'FINISHED' }]);
    expect(second.json.next_cursor).toBeNull();
    const cancelled = await call('listPurchases', '/api/purchases?status=CANCELLED');
    expect(cancelled.json.purchases).toHaveLength(2);
  });

  it('answers bad input with a problem that names the field, and changes nothing', async () => {
    const wrongType = await post('deposit', '/api/wallet/1/deposit', { amount: '5' });
    expect(wrongType.status).toBe(400);
    expect(wrongType.type).toBe('application/problem+json');
    expect(wrongType.json.errors).toEqual([{ in: 'body', name: '/amount', detail: 'must be number' }]);
    expect(wrongType.text).not.toMatch(/at .*\.(ts|js|mjs):\d+/);

    const malformed = await call('deposit', '/api/wallet/1/deposit', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"amount": 1' });
    expect(malformed.status).toBe(400);
    const notJson = await call('deposit', '/api/wallet/1/deposit', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'amount=1' });
    expect(notJson.status).toBe(415);
    const huge = await post('createPurchase', '/api/purchase', { user_id: 1, amount: 1, description: 'x'.repeat(70_000) });
    expect(huge.status).toBe(413);
    expect((await call('getPurchase', '/api/purchase/not-a-uuid')).status).toBe(400);
    expect((await call('listPurchases', '/api/purchases?limit=1000')).status).toBe(400);

    const unknown = await call(undefined, '/api/nothing');
    expect([unknown.status, unknown.type]).toEqual([404, 'application/problem+json']);
    const wrongMethod = await call(undefined, '/api/purchases', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET');

    expect((await call('getWallet', '/api/wallet/1')).text).toContain('"balance":7.50');
  });

  it('serves the OpenAPI document and Swagger UI without a CDN', async () => {
    const spec = await call('openapi', '/openapi.yaml');
    expect(spec.text).toMatch(/^openapi: 3\.1\.0/);
    const page = await call('docs', '/docs');
    expect(page.text).toContain('/docs/swagger-ui-bundle.js');
    expect(page.text).not.toMatch(/https?:\/\//);
    const bundle = await fetch(`${gateway}/docs/swagger-ui-bundle.js`);
    expect(bundle.status).toBe(200);
    expect((await bundle.text()).length).toBeGreaterThan(100_000);
  });

  it('reports itself alive and ready, with each outbox backlog, through the gateway', async () => {
    const alive = await call('health', '/health');
    expect([alive.status, alive.json]).toEqual([200, { status: 'alive', service: 'gateway' }]);
    const ready = await call('ready', '/ready');
    const body = ready.json;
    expect(ready.status).toBe(200);
    expect(body.checks.upstreams.ok).toBe(true);
    for (const service of ['payments', 'orders']) {
      expect(body.checks.upstreams[service].database).toMatchObject({ ok: true, outbox: { unsent: expect.any(Number) } });
      expect(body.checks.upstreams[service].broker).toEqual({ ok: true });
    }
  });

  it('stops a service cleanly on SIGTERM, and the gateway answers 502 for it instead of hanging', async () => {
    expect(await services.payments!.stop('SIGTERM')).toBe(0);
    const down = await call('getWallet', '/api/wallet/1');
    expect(down.status).toBe(502);
    expect(down.type).toBe('application/problem+json');
    expect((await call('listPurchases', '/api/purchases')).status).toBe(200);
    const ready = await call('ready', '/ready');
    expect(ready.status).toBe(503);
    expect(ready.json.checks.upstreams.error).toMatch(/payments/);
  });
});
