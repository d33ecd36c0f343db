// The orders service against a real PostgreSQL database of its own: purchases with their payment
// request in one transaction, listing and paging, and the consumer that settles each order once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query, uniqueName } from '../../test/support/db.js';
import { envelope, httpEvent, invokeHttp, lambdaContext, rmqEvent, rmqRecord, type HttpReply } from '../../test/support/lambda.js';
import type { Envelope, RefusalReason } from '../lib/messages.js';
import type { ProblemBody } from '../lib/problem.js';
import { freePort } from '../../scripts/lib/freePort.js';
import { createPool, DatabaseUnavailable } from '../lib/db.js';
import * as store from './store.js';
import { handler as applyPaymentResult } from './applyPaymentResult.js';
import { handler as createPurchase } from './createPurchase.js';
import { handler as getPurchase } from './getPurchase.js';
import { handler as listPurchases } from './listPurchases.js';
import { handler as migrate } from './migrate.js';
import { orders } from './service.js';

const database = uniqueName('orders');
// Read at the first invocation: the service's pool is made then, for this file's database.
delete process.env.ORDERS_DATABASE_URL;
process.env.DATABASE_URL = databaseUrl(database);

interface Purchase {
  id: string;
  user_id: number;
  amount: number;
  description: string;
  status: string;
  reason: string | null;
  created_at: string;
  updated_at: string;
}

const create = (body: unknown) => invokeHttp<Purchase>('createPurchase', createPurchase, httpEvent('POST', '/api/purchase', { body }));
const read = (id: string) =>
  invokeHttp<Purchase>('getPurchase', getPurchase, httpEvent('GET', `/api/purchase/${id}`, { path: { purchase_id: id } }));
const list = (params: Record<string, string>) =>
  invokeHttp<{ purchases: Purchase[]; next_cursor: string | null }>(
    'listPurchases',
    listPurchases,
    httpEvent('GET', '/api/purchases', { query: params }),
  );

async function newPurchase(userId: number, amount = 1, description = 'A pair of socks'): Promise<Purchase> {
  const res = await create({ user_id: userId, amount, description });
  expect(res.status).toBe(201);
  return res.json;
}

function paymentResult(
  purchase: { id: string; user_id: number; amount: number },
  outcome: 'succeeded' | RefusalReason,
): Envelope<'payment.succeeded' | 'payment.failed'> {
  const ref = { order_id: purchase.id, user_id: purchase.user_id, amount: purchase.amount.toFixed(2) };
  return outcome === 'succeeded' ? envelope('payment.succeeded', ref) : envelope('payment.failed', { ...ref, reason: outcome });
}

const deliver = (...envelopes: Envelope[]) => applyPaymentResult(rmqEvent(envelopes.map((e) => rmqRecord(e))), lambdaContext);

async function count(table: 'purchases' | 'outbox'): Promise<number> {
  const [row] = await query<{ n: number }>(database, `SELECT count(*)::int AS n FROM ${table}`);
  return row!.n;
}

async function purchaseRow(id: string): Promise<{ status: string; reason: string | null; amount: string; updated_at: Date } | undefined> {
  const [row] = await query<{ status: string; reason: string | null; amount: string; updated_at: Date }>(
    database,
    'SELECT status, reason, amount, updated_at FROM purchases WHERE id = $1',
    [id],
  );
  return row;
}

async function outboxFor(orderId: string): Promise<{ type: string; payload: Record<string, unknown>; sent_at: Date | null }[]> {
  return query(database, 'SELECT type, payload, sent_at FROM outbox WHERE correlation_id = $1 ORDER BY id', [orderId]);
}

const statusChanges = async (orderId: string) => (await outboxFor(orderId)).filter((o) => o.type === 'order.status_changed');

beforeAll(async () => {
  await migrate({}, lambdaContext);
});

afterAll(async () => {
  await orders.db.end();
  await dropDatabase(database);
});

describe('POST /api/purchase', () => {
  it('answers each purchase placed together while the database is out of reach with its own "unavailable", written alone', async () => {
    const unreachable = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/nothing`, 2);
    try {
      const placed = await Promise.all(
        [1, 2, 3].map((i) => store.createPurchase(unreachable, { id: randomUUID(), userId: 9, amount: 100n, description: `lost ${i}` }).catch((e: unknown) => e)),
      );
      expect(placed.every((error) => error instanceof DatabaseUnavailable)).toBe(true);
    } finally {
      await unreachable.end();
    }
  });

  it('answers purchases placed at the same moment each with its own order, each with its own payment request', async () => {
    const placed = await Promise.all(Array.from({ length: 30 }, (_, i) => create({ user_id: 8, amount: i + 1, description: `together ${i}` })));
    expect(placed.map((res) => res.status)).toEqual(Array(30).fill(201));
    expect(placed.map((res) => res.json.description)).toEqual(Array.from({ length: 30 }, (_, i) => `together ${i}`));
    expect(placed.map((res) => res.json.amount)).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
    expect(new Set(placed.map((res) => res.json.id)).size).toBe(30);
    for (const res of placed) {
      expect(await outboxFor(res.json.id)).toEqual([
        { type: 'order.payment_requested', payload: { order_id: res.json.id, user_id: 8, amount: res.json.amount.toFixed(2) }, sent_at: null },
      ]);
    }
  });

  it('creates a NEW purchase and its payment request in one go', async () => {
    const res = await create({ user_id: 7, amount: 12.5, description: 'A pair of socks' });
    expect(res.status).toBe(201);
    const id = res.json.id;
    expect(res.headers.location).toBe(`/api/purchase/${id}`);
    expect(res.text).toContain('"amount":12.50');
    expect(res.json).toMatchObject({ user_id: 7, amount: 12.5, description: 'A pair of socks', status: 'NEW', reason: null });
    expect(await purchaseRow(id)).toMatchObject({ status: 'NEW', reason: null, amount: '12.50' });
    expect(await outboxFor(id)).toEqual([
      { type: 'order.payment_requested', payload: { order_id: id, user_id: 7, amount: '12.50' }, sent_at: null },
    ]);
  });

  it.each([
    ['a string amount', { user_id: 7, amount: '5', description: 'x' }, '/amount'],
    ['amount 0', { user_id: 7, amount: 0, description: 'x' }, '/amount'],
    ['an amount with three decimals', { user_id: 7, amount: 1.001, description: 'x' }, '/amount'],
    ['a fractional user id', { user_id: 1.5, amount: 1, description: 'x' }, '/user_id'],
    ['an empty description', { user_id: 7, amount: 1, description: '' }, '/description'],
    ['a description over 500 characters', { user_id: 7, amount: 1, description: 'x'.repeat(501) }, '/description'],
    ['a description with a control character', { user_id: 7, amount: 1, description: 'socks\u0007' }, '/description'],
    ['an unknown field', { user_id: 7, amount: 1, description: 'x', status: 'FINISHED' }, '/status'],
  ])('answers 400 for %s and inserts nothing', async (_, body, field) => {
    const purchases = await count('purchases');
    const outbox = await count('outbox');
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'body', name: field }));
    expect(await count('purchases')).toBe(purchases);
    expect(await count('outbox')).toBe(outbox);
  });

  it('accepts a description of exactly 500 characters', async () => {
    const res = await create({ user_id: 7, amount: 1, description: 'x'.repeat(500) });
    expect(res.status).toBe(201);
    expect(res.json.description).toHaveLength(500);
  });
});

describe('GET /api/purchase/{purchase_id}', () => {
  it('reads a purchase', async () => {
    const purchase = await newPurchase(8, 3.1);
    const res = await read(purchase.id);
    expect(res.status).toBe(200);
    expect(res.text).toContain('"amount":3.10');
    expect(res.json).toEqual(purchase);
  });

  it('answers 404 for an unknown id', async () => {
    const id = randomUUID();
    const res = await read(id);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ status: 404, type: '/problems/purchase-not-found', detail: `No purchase has id ${id}` });
  });

  it('answers 400 for an id that is not a uuid', async () => {
    const res = await read('not-a-uuid');
    expect(res.status).toBe(400);
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'path', name: 'purchase_id' }));
  });
});

describe('GET /api/purchases', () => {
  it('lists newest first, filtered by user', async () => {
    const made = [await newPurchase(100, 1), await newPurchase(100, 2), await newPurchase(100, 3)];
    await newPurchase(101, 4);
    const res = await list({ user_id: '100' });
    expect(res.status).toBe(200);
    expect(res.json.purchases.map((p) => p.id)).toEqual(made.map((p) => p.id).reverse());
    expect(res.json.next_cursor).toBeNull();
  });

  it('filters by status', async () => {
    const [paid, refused, open] = [await newPurchase(102), await newPurchase(102), await newPurchase(102)];
    await deliver(paymentResult(paid!, 'succeeded'), paymentResult(refused!, 'insufficient_funds'));
    const finished = await list({ user_id: '102', status: 'FINISHED' });
    expect(finished.json.purchases.map((p) => [p.id, p.status])).toEqual([[paid!.id, 'FINISHED']]);
    const cancelled = await list({ user_id: '102', status: 'CANCELLED' });
    expect(cancelled.json.purchases.map((p) => [p.id, p.status, p.reason])).toEqual([[refused!.id, 'CANCELLED', 'insufficient_funds']]);
    const fresh = await list({ user_id: '102', status: 'NEW' });
    expect(fresh.json.purchases.map((p) => p.id)).toEqual([open!.id]);
    const all = await list({ status: 'FINISHED' });
    expect(all.json.purchases.every((p) => p.status === 'FINISHED')).toBe(true);
    expect(all.json.purchases.map((p) => p.id)).toContain(paid!.id);
  });

  it('pages with limit and next_cursor, visiting every purchase once, newest first', async () => {
    const made: string[] = [];
    for (let i = 0; i < 7; i++) made.push((await newPurchase(103, i + 1)).id);
    const seen: string[] = [];
    const pageSizes: number[] = [];
    let cursor: string | null = null;
    do {
      const res: HttpReply<{ purchases: Purchase[]; next_cursor: string | null }> = await list({
        user_id: '103',
        limit: '3',
        ...(cursor !== null && { cursor }),
      });
      expect(res.status).toBe(200);
      pageSizes.push(res.json.purchases.length);
      seen.push(...res.json.purchases.map((p) => p.id));
      cursor = res.json.next_cursor;
    } while (cursor !== null && pageSizes.length < 10);
    expect(pageSizes).toEqual([3, 3, 1]);
    expect(seen).toEqual([...made].reverse());
  });

  it('ends with next_cursor null when the last page is exactly full', async () => {
    for (let i = 0; i < 4; i++) await newPurchase(104);
    const first = await list({ user_id: '104', limit: '2' });
    expect(first.json.next_cursor).not.toBeNull();
    const second = await list({ user_id: '104', limit: '2', cursor: first.json.next_cursor! });
    expect(second.json.purchases).toHaveLength(2);
    expect(second.json.next_cursor).toBeNull();
  });

  it.each([
    ['a cursor that decodes to text', Buffer.from('abc').toString('base64url')],
    ['a cursor that decodes to 0', Buffer.from('0').toString('base64url')],
    ['a cursor that decodes to a negative number', Buffer.from('-5').toString('base64url')],
    ['a cursor with characters base64url does not have', 'MQ==!'],
  ])('answers 400 for %s', async (_, cursor) => {
    const res = await list({ cursor });
    expect(res.status).toBe(400);
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'query', name: 'cursor' }));
  });

  it('answers 400 for an unknown query parameter', async () => {
    const res = await list({ colour: 'red' });
    expect(res.status).toBe(400);
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'query', name: 'colour' }));
  });
});

describe('applyPaymentResult (payment.succeeded, payment.failed)', () => {
  it('moves NEW to FINISHED on payment.succeeded and announces it', async () => {
    const purchase = await newPurchase(200, 4.2);
    await deliver(paymentResult(purchase, 'succeeded'));
    const row = await purchaseRow(purchase.id);
    expect(row).toMatchObject({ status: 'FINISHED', reason: null });
    expect(await statusChanges(purchase.id)).toEqual([
      {
        type: 'order.status_changed',
        payload: { order_id: purchase.id, user_id: 200, amount: '4.20', status: 'FINISHED', reason: null, updated_at: row!.updated_at.toISOString() },
        sent_at: null,
      },
    ]);
    const res = await read(purchase.id);
    expect(res.json).toMatchObject({ status: 'FINISHED', reason: null, updated_at: row!.updated_at.toISOString() });
  });

  it('moves NEW to CANCELLED with the reason on payment.failed and announces it', async () => {
    const purchase = await newPurchase(201, 4.2);
    await deliver(paymentResult(purchase, 'wallet_not_found'));
    expect(await purchaseRow(purchase.id)).toMatchObject({ status: 'CANCELLED', reason: 'wallet_not_found' });
    expect((await statusChanges(purchase.id)).map((o) => [o.payload.status, o.payload.reason])).toEqual([['CANCELLED', 'wallet_not_found']]);
    expect((await read(purchase.id)).json).toMatchObject({ status: 'CANCELLED', reason: 'wallet_not_found' });
  });

  it('changes nothing when the same message comes again', async () => {
    const purchase = await newPurchase(202);
    const message = paymentResult(purchase, 'succeeded');
    await deliver(message);
    const settled = await purchaseRow(purchase.id);
    await deliver(message);
    await deliver(message, message);
    expect(await purchaseRow(purchase.id)).toEqual(settled);
    expect(await statusChanges(purchase.id)).toHaveLength(1);
  });

  it.each<[string, number, 'succeeded' | RefusalReason, 'succeeded' | RefusalReason, object]>([
    ['a FINISHED order back on a later payment.failed', 203, 'succeeded', 'insufficient_funds', { status: 'FINISHED', reason: null }],
    ['a CANCELLED order to FINISHED on a later payment.succeeded', 204, 'insufficient_funds', 'succeeded', { status: 'CANCELLED', reason: 'insufficient_funds' }],
  ])('never moves %s', async (_, userId, first, later, expected) => {
    const purchase = await newPurchase(userId);
    await deliver(paymentResult(purchase, first));
    const settled = await purchaseRow(purchase.id);
    await deliver(paymentResult(purchase, later));
    expect(await purchaseRow(purchase.id)).toEqual(settled);
    expect(settled).toMatchObject(expected);
    expect(await statusChanges(purchase.id)).toHaveLength(1);
  });

  it('changes nothing for an order it does not know', async () => {
    const purchases = await count('purchases');
    const outbox = await count('outbox');
    const unknown = { id: randomUUID(), user_id: 205, amount: 1 };
    await deliver(paymentResult(unknown, 'succeeded'));
    expect(await count('purchases')).toBe(purchases);
    expect(await count('outbox')).toBe(outbox);
    expect(await purchaseRow(unknown.id)).toBeUndefined();
  });
});
