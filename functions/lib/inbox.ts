// The transactional inbox: a consumer records each message id in the same transaction as the work
// the message causes, so a message seen before is skipped and its effect happens once.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { literal, transaction, type Tx } from './db.js';
import { log } from './log.js';
import { parseEnvelope, type Envelope, type MessageType } from './messages.js';
import { BatchFailure, type ItemFailure, type RmqEvent } from './rmqEvent.js';
import type { Service } from './service.js';

interface Delivery<T extends MessageType> {
  id: string;
  envelope: Envelope<T> | undefined;
}

/** Flattens the event's records, each named by its message id (or its position when it has none). */
function deliveries<T extends MessageType>(event: RmqEvent, types: readonly T[]): Delivery<T>[] {
  return Object.values(event.rmqMessagesByQueue)
    .flat()
    .map((record, index) => ({
      id: record.basicProperties.messageId ?? `index:${index}`,
      envelope: parseEnvelope(Buffer.from(record.data, 'base64').toString('utf8'), types),
    }));
}

/** The inbox insert of these messages, sent with the transaction's BEGIN; ids and types are validated already. */
function recordFirstSeen(envelopes: Envelope[]): string {
  const values = envelopes.map((e) => `(${literal(e.message_id)}::uuid, ${literal(e.type)})`).join(', ');
  return `INSERT INTO inbox (message_id, type) VALUES ${values} ON CONFLICT (message_id) DO NOTHING RETURNING message_id`;
}

/** The messages not recorded before, once each, given what the inbox insert returned. */
function firstSeen<T extends MessageType>(unique: Envelope<T>[], inserted: { message_id: string }[]): Envelope<T>[] {
  const fresh = new Set(inserted.map((r) => r.message_id));
  for (const e of unique.filter((e) => !fresh.has(e.message_id))) log.info('inbox.duplicate', { message_id: e.message_id, type: e.type });
  return unique.filter((e) => fresh.has(e.message_id));
}

/**
 * A consumer function. The batch commits in one transaction (one commit for many messages), and
 * `handle` sees each message that is new to the inbox once. If the batch fails, its transaction
 * rolls back and each message is tried again in a transaction of its own, so one failure does not
 * hold back the others; records that still fail are reported by a BatchFailure. The caller
 * acknowledges a record only after this settled, that is after the commit.
 */
export function consumer<T extends MessageType>(
  service: Service,
  types: readonly T[],
  handle: (messages: Envelope<T>[], tx: Tx) => Promise<void>,
) {
  const inOne = (envelopes: Envelope<T>[]) => {
    const unique = [...new Map(envelopes.map((e) => [e.message_id, e])).values()];
    return transaction<void, { message_id: string }>(
      service.db,
      async (tx, inserted) => {
        const fresh = firstSeen(unique, inserted);
        if (fresh.length) await handle(fresh, tx);
      },
      { opening: recordFirstSeen(unique) },
    );
  };

  return middy<RmqEvent, void>().handler(async (event: RmqEvent, _context: Context) => {
    const failures: ItemFailure[] = [];
    const batch = deliveries(event, types);
    for (const d of batch.filter((d) => !d.envelope)) {
      log.error('inbox.malformed', { message_id: d.id });
      failures.push({ itemIdentifier: d.id, permanent: true });
    }
    const valid = batch.filter((d): d is Delivery<T> & { envelope: Envelope<T> } => d.envelope !== undefined);
    const oneByOne = async () => {
      for (const { id, envelope } of valid) {
        await inOne([envelope]).catch((error: unknown) => {
          log.error('inbox.failed', { message_id: envelope.message_id, type: envelope.type, order_id: envelope.payload.order_id, error });
          failures.push({ itemIdentifier: id, permanent: false });
        });
      }
    };
    if (valid.length === 1) await oneByOne();
    else if (valid.length > 1) await inOne(valid.map((d) => d.envelope)).catch(oneByOne);
    if (failures.length) throw new BatchFailure(failures);
  });
}
