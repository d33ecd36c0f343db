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
 * A consumer function. The batch commits in one transaction (one commit for many messages); if any
 * message fails, that transaction rolls back and each message is tried again in a transaction of its
 * own, so one failure does not hold back the others. Records that still fail are reported by a
 * BatchFailure; the caller acknowledges a record only after this settled, that is after the commit.
 */
export function consumer<T extends MessageType>(
  db: () => Db,
  types: readonly T[],
  handle: (message: Envelope<T>, tx: Tx) => Promise<void>,
) {
  const receive = async (tx: Tx, envelope: Envelope<T>) => {
    if (await firstSeen(tx, envelope)) await handle(envelope, tx);
    else log.info('inbox.duplicate', { message_id: envelope.message_id, type: envelope.type });
  };

  return middy<RmqEvent, void>().handler(async (event: RmqEvent, _context: Context) => {
    const failures: ItemFailure[] = [];
    const batch = deliveries(event, types);
    for (const d of batch.filter((d) => !d.envelope)) {
      log.error('inbox.malformed', { message_id: d.id });
      failures.push({ itemIdentifier: d.id, permanent: true });
    }
    const valid = batch.filter((d): d is Delivery<T> & { envelope: Envelope<T> } => d.envelope !== undefined);
    const failed = (id: string, envelope: Envelope<T>, error: unknown) => {
      log.error('inbox.failed', { message_id: envelope.message_id, type: envelope.type, order_id: envelope.payload.order_id, error });
      failures.push({ itemIdentifier: id, permanent: false });
    };
    const inOne = (envelopes: Envelope<T>[]) =>
      db().transaction(async (tx) => {
        for (const envelope of envelopes) await receive(tx, envelope);
      });
    if (valid.length === 1) {
      await inOne([valid[0]!.envelope]).catch((error: unknown) => failed(valid[0]!.id, valid[0]!.envelope, error));
    } else if (valid.length > 1) {
      const allDone = await inOne(valid.map((d) => d.envelope)).then(() => true, () => false);
      if (!allDone) {
        for (const { id, envelope } of valid) await inOne([envelope]).catch((error: unknown) => failed(id, envelope, error));
      }
    }
    if (failures.length) throw new BatchFailure(failures);
  });
}
