// The cleanup on the real PostgreSQL: old sent rows go, unsent and recent ones stay, and a row that a
// relay holds is skipped rather than waited for.
import type { Context, ScheduledEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query, uniqueName } from '../../test/support/db.js';
import { handler as cleanup } from '../orders/cleanup.js';
import { handler as migrate } from '../orders/migrate.js';
import { orders } from '../orders/service.js';
import { deleteExpired } from './retention.js';

const name = uniqueName('retention');
process.env.ORDERS_DATABASE_URL = databaseUrl(name);

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

async function outboxRow(sentHoursAgo: number | null, createdHoursAgo = 200): Promise<string> {
  const id = randomUUID();
  await query(
    name,
    `INSERT INTO outbox (message_id, type, payload, occurred_at, sent_at)
     VALUES ($1, 'order.payment_requested', '{}', now() - make_interval(hours => $2), CASE WHEN $3::int IS NULL THEN NULL ELSE now() - make_interval(hours => $3::int) END)`,
    [id, createdHoursAgo, sentHoursAgo],
  );
  return id;
}

const exists = async (table: string, column: string, id: string) =>
  (await query<{ n: number }>(name, `SELECT count(*)::int AS n FROM ${table} WHERE ${column} = $1`, [id]))[0]!.n === 1;

beforeAll(async () => {
  await migrate({}, context);
});

afterAll(async () => {
  await orders.db.end();
  await dropDatabase(name);
});

describe('the scheduled cleanup', () => {
  it('deletes sent outbox rows and inbox rows past the retention and expired keys, and keeps the rest', async () => {
    const oldSent = await outboxRow(8 * 24);
    const recentSent = await outboxRow(1);
    const oldUnsent = await outboxRow(null, 30 * 24);
    const oldInbox = randomUUID();
    const recentInbox = randomUUID();
    await query(name, "INSERT INTO inbox (message_id, type, received_at) VALUES ($1, 't', now() - interval '8 days'), ($2, 't', now())", [oldInbox, recentInbox]);
    await query(
      name,
      `INSERT INTO idempotency_keys (route, key, fingerprint, status, headers, body, created_at)
       VALUES ('POST /api/purchase', 'old', 'f', 201, '{}', '', now() - interval '25 hours'),
              ('POST /api/purchase', 'new', 'f', 201, '{}', '', now())`,
    );

    const result = await cleanup({} as ScheduledEvent, context);

    expect(result).toEqual({ outbox: 1, inbox: 1, idempotency_keys: 1, more: false });
    expect(await exists('outbox', 'message_id', oldSent)).toBe(false);
    expect(await exists('outbox', 'message_id', recentSent)).toBe(true);
    expect(await exists('outbox', 'message_id', oldUnsent)).toBe(true);
    expect(await exists('inbox', 'message_id', oldInbox)).toBe(false);
    expect(await exists('inbox', 'message_id', recentInbox)).toBe(true);
    expect(await exists('idempotency_keys', 'key', 'new')).toBe(true);
  });

  it('deletes in batches until done, and stops when its time runs out', async () => {
    await query(
      name,
      `INSERT INTO inbox (message_id, type, received_at)
       SELECT gen_random_uuid(), 't', now() - interval '10 days' FROM generate_series(1, 2500)`,
    );
    let calls = 0;
    const partial = await deleteExpired(orders.db, 168, () => ++calls <= 2);
    expect(partial).toMatchObject({ inbox: 1000, more: true });
    expect(await deleteExpired(orders.db, 168, () => true)).toMatchObject({ inbox: 1500, more: false });
  });

  it('skips a row that a relay holds instead of waiting for it', async () => {
    const held = await outboxRow(8 * 24);
    const relay = new pg.Client({ connectionString: databaseUrl(name) });
    await relay.connect();
    try {
      await relay.query('BEGIN');
      await relay.query('SELECT id FROM outbox WHERE message_id = $1 FOR UPDATE', [held]);
      const other = await outboxRow(8 * 24);
      const result = await deleteExpired(orders.db, 168, () => true);
      expect(result.outbox).toBe(1);
      expect(await exists('outbox', 'message_id', other)).toBe(false);
      expect(await exists('outbox', 'message_id', held)).toBe(true);
    } finally {
      await relay.query('ROLLBACK');
      await relay.end();
    }
  });
});
