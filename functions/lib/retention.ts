// Bounded tables: sent outbox rows and inbox rows are deleted once they are older than the retention
// period, and idempotency keys once they expired, in small batches that skip any row another
// transaction holds, so the cleanup never makes the relay or a consumer wait.
import middy from '@middy/core';
import type { Context, ScheduledEvent } from 'aws-lambda';
import type { Config } from './config.js';
import type { Db } from './db.js';
import { keyLifetimeHours } from './idempotency.js';
import { log } from './log.js';

const batchSize = 1_000;

export interface CleanupResult {
  outbox: number;
  inbox: number;
  idempotency_keys: number;
  /** True when the invocation ran out of time with rows possibly left: invoke it again */
  more: boolean;
}

async function deleteBatch(db: Db, table: string, key: string[], olderThan: string): Promise<number> {
  const oldest = db(table).select(key).whereRaw(olderThan).limit(batchSize).forUpdate().skipLocked();
  return db(table).whereIn(key, oldest).delete();
}

export async function deleteExpired(db: Db, retentionHours: number, hasTimeLeft: () => boolean): Promise<CleanupResult> {
  const retention = `now() - interval '${retentionHours} hours'`;
  const tables: [keyof Omit<CleanupResult, 'more'>, string[], string][] = [
    // Unsent rows are never deleted, whatever their age.
    ['outbox', ['id'], `sent_at < ${retention}`],
    ['inbox', ['message_id'], `received_at < ${retention}`],
    ['idempotency_keys', ['route', 'key'], `created_at < now() - interval '${keyLifetimeHours} hours'`],
  ];
  const result: CleanupResult = { outbox: 0, inbox: 0, idempotency_keys: 0, more: false };
  for (const [table, key, olderThan] of tables) {
    for (;;) {
      if (!hasTimeLeft()) return { ...result, more: true };
      const deleted = await deleteBatch(db, table, key, olderThan);
      result[table] += deleted;
      if (deleted < batchSize) break;
    }
  }
  return result;
}

/** The cleanup as a scheduled function. */
export function cleanupHandler(config: Config, db: () => Db) {
  return middy<ScheduledEvent, CleanupResult>().handler(async (_event, context: Context) => {
    const result = await deleteExpired(db(), config.retentionHours, () => context.getRemainingTimeInMillis() > 2_000);
    log.info('retention.cleaned', { ...result });
    return result;
  });
}
