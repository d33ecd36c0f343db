// The transactional inbox: a consumer records each message id in the same transaction as the work
// the message causes, so a message seen before is skipped and its effect happens once.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { Db, Tx } from './db.js';
import { log } from './log.js';
import { parseEnvelope, type Envelope, type MessageType } from './messages.js';
import { BatchFailure, type ItemFailure, type RmqEvent } from './rmqEvent.js';

export interface Delivery<T extends MessageType> {
  id: string;
  envelope: Envelope<T> | undefined;
}

/** Flattens the event's records, each named by its message id (or its position when it has none). */
export function deliveries<T extends MessageType>(event: RmqEvent, types: readonly T[]): Delivery<T>[] {
  return Object.values(event.rmqMessagesByQueue)
    .flat()
    .map((record, index) => ({
      id: record.basicProperties.messageId ?? `index:${index}`,
      envelope: parseEnvelope(Buffer.from(record.data, 'base64').toString('utf8'), types),
    }));
}

/** Records the message in the inbox; false when it was recorded before. */
async function firstSeen(tx: Tx, envelope: Envelope): Promise<boolean> {
  const inserted = await tx('inbox')
    .insert({ message_id: envelope.message_id, type: envelope.type })
    .onConflict('message_id')
    .ignore()
    .returning('message_id');
  return inserted.length > 0;
}

/**
 * A consumer function. The batch commits in one transaction (one commit for many messages), each
 * message inside its own savepoint so that one failure does not undo the others. Records that failed
 * are reported by a BatchFailure; the caller acknowledges a record only after this resolved or threw,
 * that is after the commit.
 */
export function consumer<T extends MessageType>(
  db: () => Db,
  types: readonly T[],
  handle: (message: Envelope<T>, tx: Tx) => Promise<void>,
) {
  return middy<RmqEvent, void>().handler(async (event: RmqEvent, _context: Context) => {
    const failures: ItemFailure[] = [];
    const batch = deliveries(event, types);
    for (const d of batch.filter((d) => !d.envelope)) {
      log.error('inbox.malformed', { message_id: d.id });
      failures.push({ itemIdentifier: d.id, permanent: true });
    }
    const valid = batch.filter((d) => d.envelope);
    const receive = async (tx: Tx, envelope: Envelope<T>) => {
      if (await firstSeen(tx, envelope)) await handle(envelope, tx);
      else log.info('inbox.duplicate', { message_id: envelope.message_id, type: envelope.type });
    };
    const failed = (id: string, envelope: Envelope<T>, error: unknown) => {
      log.error('inbox.failed', { message_id: envelope.message_id, type: envelope.type, order_id: envelope.payload.order_id, error });
      failures.push({ itemIdentifier: id, permanent: false });
    };
    if (valid.length === 1) {
      // A batch of one needs no savepoint: the transaction is the message's.
      const { id, envelope } = valid[0]!;
      await db().transaction((tx) => receive(tx, envelope!)).catch((error: unknown) => failed(id, envelope!, error));
    } else if (valid.length > 1) {
      await db().transaction(async (tx) => {
        for (const { id, envelope } of valid) {
          await tx.transaction((savepoint) => receive(savepoint, envelope!)).catch((error: unknown) => failed(id, envelope!, error));
        }
      });
    }
    if (failures.length) throw new BatchFailure(failures);
  });
}
