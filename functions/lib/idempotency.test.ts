// Idempotency-Key on the real PostgreSQL, through the real handlers: a retried request never makes a
// second order or deposit, and concurrent requests with one key do the work once.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query, uniqueName } from '../../test/support/db.js';
import { httpEvent, lambdaContext } from '../../test/support/lambda.js';
import { handler as createPurchase } from '../orders/createPurchase.js';
import { handler as migrateOrders } from '../orders/migrate.js';
import { orders } from '../orders/service.js';
import { handler as createWallet } from '../payments/createWallet.js';
import { handler as deposit } from '../payments/deposit.js';
import { handler as migratePayments } from '../payments/migrate.js';
import { payments } from '../payments/service.js';
import { fingerprint } from './idempotency.js';

const name = uniqueName('idempotency');
const paymentsDb = `${name}_payments`;
const ordersDb = `${name}_orders`;
process.env.PAYMENTS_DATABASE_URL = databaseUrl(paymentsDb);
process.env.ORDERS_DATABASE_URL = databaseUrl(ordersDb);

/** A POST of `body` as JSON to the route, with the Idempotency-Key when there is one. */
const post = (rawPath: string, route: string, body: unknown, key?: string, path?: Record<string, string>) =>
  httpEvent('POST', rawPath, {
    routeKey: `POST ${route}`,
    body,
    path,
    headers: { 'content-type': 'application/json', ...(key === undefined ? {} : { 'idempotency-key': key }) },
  });

const order = (body: unknown, key?: string) => createPurchase(post('/api/purchase', '/api/purchase', body, key), lambdaContext);
const pay = (userId: number, amount: number, key?: string) =>
  deposit(post(`/api/wallet/${userId}/deposit`, '/api/wallet/{user_id}/deposit', { amount }, key, { user_id: String(userId) }), lambdaContext);

const count = async (db: string, sql: string, params: unknown[] = []) => (await query<{ n: number }>(db, sql, params))[0]!.n;
const purchases = (description: string) => count(ordersDb, 'SELECT count(*)::int AS n FROM purchases WHERE description = $1', [description]);

beforeAll(async () => {
  await migrateOrders({}, lambdaContext);
  await migratePayments({}, lambdaContext);
});

afterAll(async () => {
  await Promise.all([orders.db.end(), payments.db.end()]);
  await Promise.all([dropDatabase(paymentsDb), dropDatabase(ordersDb)]);
});

describe('Idempotency-Key', () => {
  it('answers a retried order with the first response, marked replayed, and places one order', async () => {
    const body = { user_id: 1, amount: 12.5, description: 'retried socks' };
    const first = await order(body, 'key-1');
    expect(first.statusCode).toBe(201);
    const again = await order(body, 'key-1');
    expect(again).toEqual({ ...first, headers: { ...first.headers, 'idempotent-replayed': 'true' } });
    expect(await purchases('retried socks')).toBe(1);
    const id = JSON.parse(first.body!).id as string;
    expect(await count(ordersDb, 'SELECT count(*)::int AS n FROM outbox WHERE correlation_id = $1', [id])).toBe(1);
  });

  it('refuses the same key with a different body with 422 and changes nothing', async () => {
    await order({ user_id: 1, amount: 1, description: 'first body' }, 'key-2');
    const other = await order({ user_id: 1, amount: 2, description: 'second body' }, 'key-2');
    expect(other.statusCode).toBe(422);
    expect(other.headers?.['content-type']).toBe('application/problem+json');
    expect(await purchases('second body')).toBe(0);
  });

  it('does the work once for many concurrent requests with one new key; the others get 409 with Retry-After or the replay', async () => {
    const body = { user_id: 2, amount: 3, description: 'concurrent' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => order(body, 'key-3')));
    expect(await purchases('concurrent')).toBe(1);
    const created = answers.filter((a) => a.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => JSON.parse(a.body!).id)).size).toBe(1);
    for (const busy of answers.filter((a) => a.statusCode !== 201)) {
      expect(busy.statusCode).toBe(409);
      expect(busy.headers?.['retry-after']).toBe('1');
    }
  });

  it('answers 409 while the first request with the key is still being processed', async () => {
    const body = { user_id: 2, amount: 4, description: 'in progress' };
    const route = 'POST /api/purchase';
    const holder = new pg.Client({ connectionString: databaseUrl(ordersDb) });
    await holder.connect();
    try {
      // Stands in for a first request that holds the key in its open transaction.
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`${route}\nkey-4`]);
      const busy = await order(body, 'key-4');
      expect(busy.statusCode).toBe(409);
      expect(JSON.parse(busy.body!).type).toBe('/problems/idempotency-key-in-use');
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    expect((await order(body, 'key-4')).statusCode).toBe(201);
    expect(await purchases('in progress')).toBe(1);
  });

  it('rejects a malformed key with 400 before any work', async () => {
    for (const key of ['', 'x'.repeat(256), 'clé', 'tab\there']) {
      const answer = await order({ user_id: 3, amount: 1, description: 'bad key' }, key);
      expect(answer.statusCode).toBe(400);
      expect(JSON.parse(answer.body!).errors).toEqual([{ in: 'header', name: 'Idempotency-Key', detail: expect.any(String) }]);
    }
    expect(await purchases('bad key')).toBe(0);
    expect((await order({ user_id: 3, amount: 1, description: 'long key' }, 'k'.repeat(255))).statusCode).toBe(201);
  });

  it('does not store a request rejected by validation under its key', async () => {
    const rejected = await order({ user_id: 3, amount: '1', description: 'validated later' }, 'key-5');
    expect(rejected.statusCode).toBe(400);
    const accepted = await order({ user_id: 3, amount: 1, description: 'validated later' }, 'key-5');
    expect(accepted.statusCode).toBe(201);
    expect(accepted.headers?.['idempotent-replayed']).toBeUndefined();
  });

  it('places two orders for two requests without a key', async () => {
    const body = { user_id: 4, amount: 1, description: 'no key' };
    await order(body);
    await order(body);
    expect(await purchases('no key')).toBe(2);
  });

  it('keeps keys per route, and deposits once for a retried deposit', async () => {
    expect((await createWallet(post('/api/wallet/create', '/api/wallet/create', { user_id: 7 }, 'shared-key'), lambdaContext)).statusCode).toBe(201);
    const first = await pay(7, 10, 'shared-key');
    expect(first.statusCode).toBe(200);
    expect(await pay(7, 10, 'shared-key')).toEqual({ ...first, headers: { ...first.headers, 'idempotent-replayed': 'true' } });
    expect(await count(paymentsDb, "SELECT count(*)::int AS n FROM ledger WHERE user_id = 7 AND kind = 'deposit'")).toBe(1);
    // The same key on another wallet's deposit is another request.
    expect((await pay(8, 10, 'shared-key')).statusCode).toBe(422);
  });

  it('records a refusal that came after the work began, and replays it', async () => {
    const missing = await pay(99, 5, 'key-6');
    expect(missing.statusCode).toBe(404);
    expect(await createWallet(post('/api/wallet/create', '/api/wallet/create', { user_id: 99 }), lambdaContext)).toMatchObject({ statusCode: 201 });
    const replay = await pay(99, 5, 'key-6');
    expect(replay.statusCode).toBe(404);
    expect(replay.headers?.['idempotent-replayed']).toBe('true');
    expect(await count(paymentsDb, 'SELECT count(*)::int AS n FROM ledger WHERE user_id = 99')).toBe(0);
  });

  it('forgets a key after 24 hours', async () => {
    const body = { user_id: 5, amount: 1, description: 'expired key' };
    await order(body, 'key-7');
    await query(ordersDb, "UPDATE idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'key-7'");
    const fresh = await order(body, 'key-7');
    expect(fresh.statusCode).toBe(201);
    expect(fresh.headers?.['idempotent-replayed']).toBeUndefined();
    expect(await purchases('expired key')).toBe(2);
  });

  it('fingerprints method, path and body', () => {
    expect(fingerprint('POST', '/a', { x: 1 })).toBe(fingerprint('POST', '/a', { x: 1 }));
    expect(fingerprint('POST', '/a', { x: 1 })).not.toBe(fingerprint('POST', '/b', { x: 1 }));
    expect(fingerprint('POST', '/a', { x: 1 })).not.toBe(fingerprint('POST', '/a', { x: 2 }));
  });
});
