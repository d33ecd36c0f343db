// The transactional outbox: a store writes a message in the same transaction as its change, and the
// relay publishes unsent rows, marking them sent only after RabbitMQ confirmed them.
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { Publisher } from './amqp.js';
import type { Config } from './config.js';
import type { Db, Tx } from './db.js';
import { log } from './log.js';
import type { Envelope, MessageType, OutgoingMessage } from './messages.js';

/** The insert of messages into the outbox, to run in the transaction (or statement) of the change. */
export function outboxInsert(db: Db | Tx, messages: OutgoingMessage[]) {
  return db('outbox')
    .insert(messages.map((m) => ({ message_id: randomUUID(), type: m.type, correlation_id: m.correlationId, payload: m.payload })))
    .returning('id');
}

interface OutboxRow {
  id: string;
  message_id: string;
  type: MessageType;
  correlation_id: string | null;
  payload: Envelope['payload'];
  occurred_at: Date;
}

/**
 * Publishes one batch of unsent rows; returns how many it claimed and how many it sent. The rows are
 * claimed and marked sent by one statement, in a transaction that commits only after RabbitMQ
 * confirmed them: confirms take milliseconds, SKIP LOCKED lets other relays take other rows
 * meanwhile, and a crash at any point rolls the mark back, so the rows are published again (the
 * consumers' inbox drops the copy).
 */
export async function relayBatch(db: Db, publisher: Publisher, batchSize: number): Promise<{ claimed: number; sent: number }> {
  return db.transaction(async (tx) => {
    const unsent = tx('outbox').select('id').whereNull('sent_at').orderBy('id').limit(batchSize).forUpdate().skipLocked();
    const rows: OutboxRow[] = await tx('outbox')
      .whereIn('id', unsent)
      .update({ sent_at: tx.fn.now() })
      .returning(['id', 'message_id', 'type', 'correlation_id', 'payload', 'occurred_at']);
    if (rows.length === 0) return { claimed: 0, sent: 0 };
    rows.sort((a, b) => Number(a.id) - Number(b.id));
    const unroutable = await publisher.publish(
      rows.map((row) => ({
        envelope: { message_id: row.message_id, type: row.type, occurred_at: row.occurred_at.toISOString(), payload: row.payload },
        correlationId: row.correlation_id,
      })),
    );
    const returned = rows.filter((r) => unroutable.has(r.message_id));
    for (const row of returned) {
      log.error('outbox.unroutable', { message_id: row.message_id, type: row.type, order_id: row.correlation_id });
    }
    if (returned.length) await tx('outbox').whereIn('id', returned.map((r) => r.id)).update({ sent_at: null });
    return { claimed: rows.length, sent: rows.length - returned.length };
  });
}

export interface RelayResult {
  published: number;
  /** True when the relay stopped with rows possibly left: invoke it again at once */
  more: boolean;
}

const connectTimeoutMs = 5_000;

/** The relay as a scheduled function: drains the outbox while its invocation has time left. */
export function relayHandler(config: Config, db: () => Db) {
  let publisher: Promise<Publisher> | undefined;
  return middy<ScheduledEvent, RelayResult>().handler(async (_event, context: Context) => {
    publisher ??= Publisher.connect(config.amqpUrl, config.amqpNamespace, config.deliveryLimit, `${config.service}-relay`);
    const connected = await publisher;
    await connected.ready(Math.max(0, Math.min(connectTimeoutMs, context.getRemainingTimeInMillis() - 2_000)));
    let published = 0;
    for (;;) {
      const { claimed, sent } = await relayBatch(db(), connected, config.relayBatchSize);
      published += sent;
      if (claimed < config.relayBatchSize || sent === 0) return { published, more: false };
      if (context.getRemainingTimeInMillis() < 2_000) return { published, more: true };
    }
  });
}
