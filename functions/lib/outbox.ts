// The transactional outbox: a store writes a message in the same statement or transaction as its
// change, and the relay publishes unsent rows, marking them sent only after RabbitMQ confirmed them.
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { Publisher } from './amqp.js';
import { statement, transaction, type Db } from './db.js';
import { log } from './log.js';
import type { MessageType } from './messages.js';
import type { Service } from './service.js';

interface OutboxRow {
  id: string;
  message_id: string;
  type: MessageType;
  correlation_id: string | null;
  /** Seconds since the epoch: the AMQP timestamp */
  occurred: number;
  /** The envelope as JSON text, written by PostgreSQL: published as it is */
  envelope: string;
}

// Claims and marks in one statement, sent with the transaction's BEGIN; the envelope is written by
// PostgreSQL, so the relay neither parses nor encodes JSON.
const claimUnsent = (batchSize: number) =>
  `UPDATE outbox SET sent_at = now()
    WHERE id IN (SELECT id FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ${Math.trunc(batchSize)} FOR UPDATE SKIP LOCKED)
    RETURNING id, message_id, type, correlation_id, extract(epoch FROM occurred_at)::int AS occurred,
              json_build_object('message_id', message_id, 'type', type, 'occurred_at', occurred_at, 'payload', payload)::text AS envelope`;

const markUnsent = statement('outbox.mark-unsent', 'UPDATE outbox SET sent_at = NULL WHERE id = ANY($1::bigint[])');

/**
 * Publishes one batch of unsent rows; returns how many it claimed and how many it sent. The rows are
 * claimed and marked sent by one statement, in a transaction that commits only after RabbitMQ
 * confirmed them: confirms take milliseconds, SKIP LOCKED lets other relays take other rows
 * meanwhile, and a crash at any point rolls the mark back, so the rows are published again (the
 * consumers' inbox drops the copy). For the same reason the commit need not wait for the disk: a
 * mark lost with the database server is a message published once more.
 */
export async function relayBatch(db: Db, publisher: Publisher, batchSize: number): Promise<{ claimed: number; sent: number }> {
  return transaction<{ claimed: number; sent: number }, OutboxRow>(db, async (tx, rows) => {
    if (rows.length === 0) return { claimed: 0, sent: 0 };
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    const unroutable = await publisher.publish(rows);
    const returned = rows.filter((r) => unroutable.has(r.message_id));
    for (const row of returned) {
      log.error('outbox.unroutable', { message_id: row.message_id, type: row.type, order_id: row.correlation_id });
    }
    if (returned.length) await markUnsent(tx, [returned.map((r) => r.id)]);
    return { claimed: rows.length, sent: rows.length - returned.length };
  }, { durable: false, opening: claimUnsent(batchSize) });
}

interface RelayResult {
  published: number;
  /** True when the relay stopped with rows possibly left: invoke it again at once */
  more: boolean;
}

const connectTimeoutMs = 5_000;

/** The relay as a scheduled function: drains the outbox while its invocation has time left. */
export function relayHandler(service: Service) {
  let publisher: Promise<Publisher> | undefined;
  return middy<ScheduledEvent, RelayResult>().handler(async (_event, context: Context) => {
    const { config, db } = service;
    publisher ??= Publisher.connect(config.amqpUrl, config.amqpNamespace, config.deliveryLimit, `${config.service}-relay`);
    const connected = await publisher;
    await connected.ready(Math.max(0, Math.min(connectTimeoutMs, context.getRemainingTimeInMillis() - 2_000)));
    let published = 0;
    for (;;) {
      const { claimed, sent } = await relayBatch(db, connected, config.relayBatchSize);
      published += sent;
      if (claimed < config.relayBatchSize || sent === 0) return { published, more: false };
      if (context.getRemainingTimeInMillis() < 2_000) return { published, more: true };
    }
  });
}
