// The payments service against a real PostgreSQL database of its own: wallets, deposits, and the
// consumer that charges each order at most once.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query, uniqueName } from '../../test/support/db.js';
import { envelope, httpEvent, invokeHttp, lambdaContext, rmqEvent, rmqRecord } from '../../test/support/lambda.js';
import type { Envelope } from '../lib/messages.js';
import type { ProblemBody } from '../lib/problem.js';
import { BatchFailure } from '../lib/rmqEvent.js';
import { handler as createWallet } from './createWallet.js';
import { handler as deposit } from './deposit.js';
import { handler as getWallet } from './getWallet.js';
import { handler as migrate } from './migrate.js';
import { handler as processPayment } from './processPayment.js';
import { payments } from './service.js';

const database = uniqueName('payments');
// Read at the first invocation: the service's pool is made then, for this file's database.
delete process.env.PAYMENTS_DATABASE_URL;
process.env.DATABASE_URL = databaseUrl(database);

const create = (body: unknown, rawBody?: string) =>
  invokeHttp('createWallet', createWallet, httpEvent('POST', '/api/wallet/create', { body, rawBody }));
const depositTo = (userId: number | string, body: unknown) =>
  invokeHttp('deposit', deposit, httpEvent('POST', `/api/wallet/${userId}/deposit`, { path: { user_id: String(userId) }, body }));
const read = (userId: number | string) =>
  invokeHttp('getWallet', getWallet, httpEvent('GET', `/api/wallet/${userId}`, { path: { user_id: String(userId) } }));

const paymentRequested = (orderId: string, userId: number, amount: string) =>
  envelope('order.payment_requested', { order_id: orderId, user_id: userId, amount });

const deliver = (...envelopes: Envelope<'order.payment_requested'>[]) =>
  processPayment(rmqEvent(envelopes.map((e) => rmqRecord(e))), lambdaContext);

async function walletCount(): Promise<number> {
  const [row] = await query<{ n: number }>(database, 'SELECT count(*)::int AS n FROM wallets');
  return row!.n;
}

async function balanceOf(userId: number): Promise<string | undefined> {
  const [row] = await query<{ balance: string }>(database, 'SELECT balance FROM wallets WHERE user_id = $1', [userId]);
  return row?.balance;
}

async function ledgerOf(userId: number): Promise<{ amount: string; kind: string; order_id: string | null }[]> {
  return query(database, 'SELECT amount, kind, order_id FROM ledger WHERE user_id = $1 ORDER BY id', [userId]);
}

async function ledgerSum(userId: number): Promise<string> {
  const [row] = await query<{ sum: string }>(database, 'SELECT coalesce(sum(amount), 0)::numeric(20, 2)::text AS sum FROM ledger WHERE user_id = $1', [userId]);
  return row!.sum;
}

async function outboxFor(orderId: string): Promise<{ type: string; payload: Record<string, unknown>; sent_at: Date | null }[]> {
  return query(database, 'SELECT type, payload, sent_at FROM outbox WHERE correlation_id = $1 ORDER BY id', [orderId]);
}

async function paymentsFor(orderId: string): Promise<{ user_id: string; amount: string; status: string; reason: string | null; message_id: string }[]> {
  return query(database, 'SELECT user_id, amount, status, reason, message_id FROM payments WHERE order_id = $1', [orderId]);
}

/** A wallet holding `amount`, made through the handlers. */
async function walletWith(userId: number, amount?: number): Promise<void> {
  expect((await create({ user_id: userId })).status).toBe(201);
  if (amount !== undefined) expect((await depositTo(userId, { amount })).status).toBe(200);
}

beforeAll(async () => {
  await migrate({}, lambdaContext);
});

afterAll(async () => {
  await payments.db.end();
  await dropDatabase(database);
});

describe('POST /api/wallet/create', () => {
  it('creates an empty wallet: 201, Location, balance written as 0.00', async () => {
    const res = await create({ user_id: 1 });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/api/wallet/1');
    expect(res.text).toContain('"balance":0.00');
    expect(res.json).toMatchObject({ user_id: 1, balance: 0 });
    expect(Date.parse(res.json.created_at as string)).not.toBeNaN();
    expect(await balanceOf(1)).toBe('0.00');
    expect(await ledgerOf(1)).toEqual([]);
  });

  it('answers 409 for a second wallet of the same user and changes nothing', async () => {
    await walletWith(2, 5);
    const [before] = await query(database, 'SELECT * FROM wallets WHERE user_id = 2');
    const res = await create({ user_id: 2 });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json).toMatchObject({ status: 409, type: '/problems/wallet-exists', detail: 'User 2 already has a wallet' });
    expect(await query(database, 'SELECT * FROM wallets WHERE user_id = 2')).toEqual([before]);
    expect(await ledgerOf(2)).toHaveLength(1);
  });

  it.each([
    ['a string user id', { user_id: '7' }, '/user_id'],
    ['a fractional user id', { user_id: 1.5 }, '/user_id'],
    ['user id 0', { user_id: 0 }, '/user_id'],
    ['a missing user id', {}, '/user_id'],
    ['an unknown field', { user_id: 8, admin: true }, '/admin'],
  ])('answers 400 for %s and creates no wallet', async (_, body, field) => {
    const wallets = await walletCount();
    const res = await create(body);
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'body', name: field }));
    expect(await walletCount()).toBe(wallets);
  });

  it('answers 400 for malformed JSON and creates no wallet', async () => {
    const wallets = await walletCount();
    const res = await create(undefined, '{"user_id": 9');
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ status: 400, type: '/problems/malformed-json' });
    expect(await walletCount()).toBe(wallets);
    expect(await balanceOf(9)).toBeUndefined();
  });
});

describe('POST /api/wallet/{user_id}/deposit', () => {
  it('adds 0.10 three times to exactly 0.30, one ledger row each', async () => {
    await walletWith(10);
    const texts: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await depositTo(10, { amount: 0.1 });
      expect(res.status).toBe(200);
      texts.push(res.text);
    }
    expect(texts[0]).toContain('"balance":0.10');
    expect(texts[1]).toContain('"balance":0.20');
    expect(texts[2]).toContain('"balance":0.30');
    expect(await ledgerOf(10)).toEqual([
      { amount: '0.10', kind: 'deposit', order_id: null },
      { amount: '0.10', kind: 'deposit', order_id: null },
      { amount: '0.10', kind: 'deposit', order_id: null },
    ]);
    expect(await balanceOf(10)).toBe('0.30');
    expect(await ledgerSum(10)).toBe('0.30');
  });

  it('answers 404 for a user without a wallet and writes nothing', async () => {
    const res = await depositTo(11, { amount: 5 });
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ status: 404, type: '/problems/wallet-not-found', detail: 'User 11 has no wallet' });
    expect(await balanceOf(11)).toBeUndefined();
    expect(await ledgerOf(11)).toEqual([]);
  });

  it.each([
    ['a string', 14, '5'],
    ['a negative amount', 15, -1],
    ['zero', 16, 0],
    ['three decimals', 17, 1.005],
    ['more than 1000000000.00', 18, 1000000000.01],
    ['null', 19, null],
  ])('answers 400 for %s and changes nothing', async (_, userId, amount) => {
    await walletWith(userId, 3);
    const res = await depositTo(userId, { amount });
    expect(res.status).toBe(400);
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'body', name: '/amount' }));
    expect(await balanceOf(userId)).toBe('3.00');
    expect(await ledgerOf(userId)).toEqual([{ amount: '3.00', kind: 'deposit', order_id: null }]);
  });

  it('loses no update: 50 concurrent deposits of 1.00 make exactly 50.00', async () => {
    await walletWith(13);
    const replies = await Promise.all(Array.from({ length: 50 }, () => depositTo(13, { amount: 1 })));
    expect(replies.map((r) => r.status)).toEqual(Array(50).fill(200));
    // Each deposit saw the one before it: the balances answered are 1.00 to 50.00, each once.
    expect(replies.map((r) => r.json.balance).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await balanceOf(13)).toBe('50.00');
    expect(await ledgerOf(13)).toHaveLength(50);
    expect(await ledgerSum(13)).toBe('50.00');
  });
});

describe('GET /api/wallet/{user_id}', () => {
  it('reads the wallet with its balance', async () => {
    await walletWith(20, 12.5);
    const res = await read(20);
    expect(res.status).toBe(200);
    expect(res.text).toContain('"balance":12.50');
    expect(res.json).toMatchObject({ user_id: 20, balance: 12.5 });
  });

  it('answers 404 for a user without a wallet', async () => {
    const res = await read(21);
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ status: 404, detail: 'User 21 has no wallet' });
  });

  it.each(['abc', '9007199254740992'])('answers 400 for user id %s', async (userId) => {
    const res = await read(userId);
    expect(res.status).toBe(400);
    expect((res.json as unknown as ProblemBody).errors).toContainEqual(expect.objectContaining({ in: 'path', name: 'user_id' }));
  });
});

describe('processPayment (order.payment_requested)', () => {
  it('debits a wallet that holds enough, once, and announces payment.succeeded', async () => {
    await walletWith(30, 10);
    const orderId = randomUUID();
    const message = paymentRequested(orderId, 30, '2.50');
    await deliver(message);
    expect(await balanceOf(30)).toBe('7.50');
    expect(await ledgerOf(30)).toEqual([
      { amount: '10.00', kind: 'deposit', order_id: null },
      { amount: '-2.50', kind: 'payment', order_id: orderId },
    ]);
    expect(await paymentsFor(orderId)).toEqual([
      { user_id: '30', amount: '2.50', status: 'succeeded', reason: null, message_id: message.message_id },
    ]);
    expect(await outboxFor(orderId)).toEqual([
      { type: 'payment.succeeded', payload: { order_id: orderId, user_id: 30, amount: '2.50' }, sent_at: null },
    ]);
    expect(await query(database, 'SELECT type FROM inbox WHERE message_id = $1', [message.message_id])).toEqual([
      { type: 'order.payment_requested' },
    ]);
  });

  it.each<[string, number, (m: Envelope<'order.payment_requested'>) => Promise<unknown>]>([
    ['in two invocations', 31, async (m) => {
      await deliver(m);
      await deliver(m);
    }],
    ['twice in one batch', 32, (m) => deliver(m, m)],
  ])('debits once when the same message comes %s', async (_, userId, redeliver) => {
    await walletWith(userId, 10);
    const orderId = randomUUID();
    await redeliver(paymentRequested(orderId, userId, '4.00'));
    expect(await balanceOf(userId)).toBe('6.00');
    expect((await ledgerOf(userId)).filter((l) => l.order_id === orderId)).toHaveLength(1);
    expect(await paymentsFor(orderId)).toHaveLength(1);
    expect((await outboxFor(orderId)).map((o) => o.type)).toEqual(['payment.succeeded']);
  });

  it('charges an order once under two message ids, and re-announces its outcome', async () => {
    await walletWith(33, 10);
    const orderId = randomUUID();
    const first = paymentRequested(orderId, 33, '4.00');
    await deliver(first);
    await deliver(paymentRequested(orderId, 33, '4.00'));
    expect(await balanceOf(33)).toBe('6.00');
    expect((await ledgerOf(33)).filter((l) => l.order_id === orderId)).toHaveLength(1);
    expect(await paymentsFor(orderId)).toEqual([expect.objectContaining({ status: 'succeeded', message_id: first.message_id })]);
    const announced = { type: 'payment.succeeded', payload: { order_id: orderId, user_id: 33, amount: '4.00' }, sent_at: null };
    expect(await outboxFor(orderId)).toEqual([announced, announced]);
  });

  it('keeps a refusal standing when the same order comes again after a deposit', async () => {
    await walletWith(34, 1);
    const orderId = randomUUID();
    await deliver(paymentRequested(orderId, 34, '5.00'));
    await depositTo(34, { amount: 10 });
    await deliver(paymentRequested(orderId, 34, '5.00'));
    expect(await balanceOf(34)).toBe('11.00');
    expect((await ledgerOf(34)).filter((l) => l.kind === 'payment')).toEqual([]);
    expect(await paymentsFor(orderId)).toEqual([expect.objectContaining({ status: 'refused', reason: 'insufficient_funds' })]);
    expect((await outboxFor(orderId)).map((o) => [o.type, o.payload.reason])).toEqual([
      ['payment.failed', 'insufficient_funds'],
      ['payment.failed', 'insufficient_funds'],
    ]);
  });

  it('refuses an order the wallet cannot cover: payment.failed insufficient_funds, balance unchanged', async () => {
    await walletWith(35, 1);
    const orderId = randomUUID();
    const message = paymentRequested(orderId, 35, '1.01');
    await deliver(message);
    expect(await balanceOf(35)).toBe('1.00');
    expect(await ledgerOf(35)).toEqual([{ amount: '1.00', kind: 'deposit', order_id: null }]);
    expect(await paymentsFor(orderId)).toEqual([
      { user_id: '35', amount: '1.01', status: 'refused', reason: 'insufficient_funds', message_id: message.message_id },
    ]);
    expect(await outboxFor(orderId)).toEqual([
      { type: 'payment.failed', payload: { order_id: orderId, user_id: 35, amount: '1.01', reason: 'insufficient_funds' }, sent_at: null },
    ]);
  });

  it('pays an order of exactly the balance, down to 0.00', async () => {
    await walletWith(36, 1);
    const orderId = randomUUID();
    await deliver(paymentRequested(orderId, 36, '1.00'));
    expect(await balanceOf(36)).toBe('0.00');
    expect((await outboxFor(orderId)).map((o) => o.type)).toEqual(['payment.succeeded']);
  });

  it('refuses an order of a user without a wallet: payment.failed wallet_not_found', async () => {
    const orderId = randomUUID();
    await deliver(paymentRequested(orderId, 37, '1.00'));
    expect(await balanceOf(37)).toBeUndefined();
    expect(await ledgerOf(37)).toEqual([]);
    expect(await paymentsFor(orderId)).toEqual([expect.objectContaining({ status: 'refused', reason: 'wallet_not_found' })]);
    expect(await outboxFor(orderId)).toEqual([
      { type: 'payment.failed', payload: { order_id: orderId, user_id: 37, amount: '1.00', reason: 'wallet_not_found' }, sent_at: null },
    ]);
  });

  it.each([
    ['not JSON', 38, () => 'this is not json'],
    ['an unexpected type', 39, () => ({ ...paymentRequested(randomUUID(), 39, '1.00'), type: 'payment.succeeded' })],
  ])('fails only a record that is %s, as permanent, and commits the good ones', async (_, userId, malformed) => {
    await walletWith(userId, 10);
    const good = [paymentRequested(randomUUID(), userId, '1.00'), paymentRequested(randomUUID(), userId, '2.00')];
    const badId = randomUUID();
    const event = rmqEvent([rmqRecord(good[0], good[0]!.message_id), rmqRecord(malformed(), badId), rmqRecord(good[1], good[1]!.message_id)]);

    const error = await processPayment(event, lambdaContext).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(BatchFailure);
    expect((error as BatchFailure).failures).toEqual([{ itemIdentifier: badId, permanent: true }]);

    expect(await balanceOf(userId)).toBe('7.00');
    for (const message of good) {
      expect((await outboxFor(message.payload.order_id)).map((o) => o.type)).toEqual(['payment.succeeded']);
    }
    const inbox = await query<{ message_id: string }>(database, 'SELECT message_id FROM inbox WHERE message_id = ANY($1)', [
      [...good.map((g) => g.message_id), badId],
    ]);
    expect(inbox.map((r) => r.message_id).sort()).toEqual(good.map((g) => g.message_id).sort());
  });
});

describe('processPayment under concurrency', () => {
  async function expectTwentyPaid(userId: number, orderIds: string[]): Promise<void> {
    const payments = await query<{ status: string; reason: string | null; n: number }>(
      database,
      'SELECT status, reason, count(*)::int AS n FROM payments WHERE order_id = ANY($1) GROUP BY status, reason ORDER BY status',
      [orderIds],
    );
    expect(payments).toEqual([
      { status: 'refused', reason: 'insufficient_funds', n: 30 },
      { status: 'succeeded', reason: null, n: 20 },
    ]);
    const outbox = await query<{ type: string; n: number }>(
      database,
      'SELECT type, count(*)::int AS n FROM outbox WHERE correlation_id = ANY($1) GROUP BY type ORDER BY type',
      [orderIds],
    );
    expect(outbox).toEqual([
      { type: 'payment.failed', n: 30 },
      { type: 'payment.succeeded', n: 20 },
    ]);
    expect(await balanceOf(userId)).toBe('0.00');
    expect(await ledgerSum(userId)).toBe('0.00');
    expect((await ledgerOf(userId)).filter((l) => l.kind === 'payment')).toHaveLength(20);
  }

  it('pays exactly 20 of 50 orders of 1.00 from 20.00, one message per invocation', async () => {
    await walletWith(40, 20);
    const messages = Array.from({ length: 50 }, () => paymentRequested(randomUUID(), 40, '1.00'));
    await Promise.all(messages.map((m) => deliver(m)));
    await expectTwentyPaid(40, messages.map((m) => m.payload.order_id));
  });

  it('pays exactly 20 of 50 orders of 1.00 from 20.00, in concurrent batches of 10', async () => {
    await walletWith(41, 20);
    const messages = Array.from({ length: 50 }, () => paymentRequested(randomUUID(), 41, '1.00'));
    const batches = Array.from({ length: 5 }, (_, i) => messages.slice(i * 10, i * 10 + 10));
    await Promise.all(batches.map((batch) => deliver(...batch)));
    await expectTwentyPaid(41, messages.map((m) => m.payload.order_id));
  });
});

describe('the books at the end', () => {
  it('leave every balance equal to the sum of its ledger, and none below zero', async () => {
    const wallets = await query<{ user_id: string; balance: string; ledger: string }>(
      database,
      `SELECT w.user_id, w.balance::text, coalesce(sum(l.amount), 0)::numeric(20, 2)::text AS ledger
         FROM wallets w LEFT JOIN ledger l USING (user_id) GROUP BY w.user_id, w.balance ORDER BY w.user_id`,
    );
    expect(wallets.length).toBeGreaterThan(10);
    for (const w of wallets) {
      expect({ user_id: w.user_id, balance: w.ledger }).toEqual({ user_id: w.user_id, balance: w.balance });
      expect(w.balance.startsWith('-')).toBe(false);
    }
  });
});
