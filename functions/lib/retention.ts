// Bounded tables: sent outbox rows and inbox rows are deleted once they are older than the retention
// period, and idempotency keys once they expired, in small batches that skip any row another
// transaction holds, so the cleanup never makes the relay or a consumer wait.
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import { statement, type Db, type Statement } from './db.js';
import { keyLifetimeHours } from './idempotency.js';
import { log } from './log.js';
import type { Service } from './service.js';

const batchSize = 1_000;

interface CleanupResult {
  outbox: number;
  inbox: number;
  idempotency_keys: number;
  /** True when the invocation ran out of time with rows possibly left: invoke it again */
  more: boolean;
}

type Table = keyof Omit<CleanupResult, 'more'>;

/** Deletes at most one batch of `table`'s rows whose `column` is older than $1 hours, skipping locked rows. */
const deleteOlderThan = (table: Table, key: string, column: string) =>
  statement(
    `retention.${table}`,
    `DELETE FROM ${table} WHERE (${key}) IN (SELECT ${key} FROM ${table} WHERE ${column} < now() - make_interval(hours => $1)
      LIMIT ${batchSize} FOR UPDATE SKIP LOCKED) RETURNING 1`,
  );

const deletions: { table: Table; deleteBatch: Statement<unknown>; hours: (retentionHours: number) => number }[] = [
  // Only sent rows: an unsent one is kept whatever its age.
  { table: 'outbox', deleteBatch: deleteOlderThan('outbox', 'id', 'sent_at'), hours: (retention) => retention },
  { table: 'inbox', deleteBatch: deleteOlderThan('inbox', 'message_id', 'received_at'), hours: (retention) => retention },
  { table: 'idempotency_keys', deleteBatch: deleteOlderThan('idempotency_keys', 'route, key', 'created_at'), hours: () => keyLifetimeHours },
];

export async function deleteExpired(db: Db, retentionHours: number, hasTimeLeft: () => boolean): Promise<CleanupResult> {
  const result: CleanupResult = { outbox: 0, inbox: 0, idempotency_keys: 0, more: false };
  for (const { table, deleteBatch, hours } of deletions) {
    for (;;) {
      if (!hasTimeLeft()) return { ...result, more: true };
      const deleted = (await deleteBatch(db, [hours(retentionHours)])).length;
      result[table] += deleted;
      if (deleted < batchSize) break;
    }
  }
  return result;
}

/** The cleanup as a scheduled function. */
export function cleanupHandler(service: Service) {
  return middy<ScheduledEvent, CleanupResult>().handler(async (_event, context: Context) => {
    const result = await deleteExpired(service.db, service.config.retentionHours, () => context.getRemainingTimeInMillis() > 2_000);
    log.info('retention.cleaned', { ...result });
    return result;
  });
}
