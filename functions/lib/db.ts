// PostgreSQL through knex: one small pool per process (per function on Lambda and in
// serverless-offline), created outside the handler; each service creates and migrates its database.
import middy from '@middy/core';
import knex, { type Knex } from 'knex';
import pg from 'pg';
import { createIdempotencyKeys } from './idempotency.js';
import { log } from './log.js';

export type Db = Knex;
export type Tx = Knex.Transaction;

export function createDb(url: string, poolMax: number): Db {
  return knex({
    client: 'pg',
    connection: {
      connectionString: url,
      application_name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'shop',
      // A process frozen in the middle of a transaction (stopped, paused, partitioned) must not hold
      // its row locks for ever: PostgreSQL ends such a session, and its work is done again elsewhere.
      idle_in_transaction_session_timeout: 15_000,
    },
    pool: { min: 0, max: poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: 10_000,
    log: {
      warn: (message: unknown) => log.warn('db.warning', { message: String(message) }),
      error: (message: unknown) => log.error('db.error', { message: String(message) }),
      deprecate: () => undefined,
      debug: () => undefined,
    },
  });
}

/**
 * Runs several writes as one statement (data-modifying CTEs): all or nothing, in one round trip.
 * Resolves with the rows that the first write returns.
 */
export async function writeTogether<Row>(db: Db | Tx, writes: Knex.QueryBuilder[]): Promise<Row[]> {
  const statement = writes.reduce((query, write, i) => query.with(`write${i}`, write), db.queryBuilder());
  return (await statement.select('*').from('write0')) as Row[];
}

/** Creates the database named in `url` if it does not exist; safe when several processes race. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return;
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((error: { code?: string }) => {
      // 42P04: created meanwhile by another process; 23505: the same race seen in the catalog.
      if (error.code !== '42P04' && error.code !== '23505') throw error;
    });
  } finally {
    await client.end();
  }
}

type Migration = { up(db: Knex): Promise<void>; down(db: Knex): Promise<void> };

/** Runs migrations bundled into the code (no directory scan, so it works from a bundle). */
export async function migrate(db: Db, migrations: Record<string, Migration>): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({
    migrationSource: {
      getMigrations: async () => Object.keys(migrations).sort(),
      getMigrationName: (name: string) => name,
      getMigration: async (name: string) => migrations[name]!,
    },
  })) as [number, string[]];
  return applied;
}

/** The migrate function of a service: creates its database if missing and brings it up to date. */
export function migrationHandler(url: string, db: () => Db, migrations: Record<string, Migration>) {
  return middy().handler(async () => {
    await ensureDatabase(url);
    return { applied: await migrate(db(), migrations) };
  });
}

/** The tables every service has beside its own: outbox, inbox and idempotency keys. */
export async function createSharedTables(db: Knex): Promise<void> {
  await createOutboxAndInbox(db);
  await createIdempotencyKeys(db);
}

export async function dropSharedTables(db: Knex): Promise<void> {
  await db.raw('DROP TABLE idempotency_keys; DROP TABLE inbox; DROP TABLE outbox; DROP FUNCTION outbox_notify();');
}

async function createOutboxAndInbox(db: Knex): Promise<void> {
  await db.raw(`
    CREATE TABLE outbox (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      message_id uuid NOT NULL UNIQUE,
      type text NOT NULL,
      correlation_id uuid,
      payload jsonb NOT NULL,
      occurred_at timestamptz NOT NULL DEFAULT now(),
      sent_at timestamptz
    );
    -- The relay only ever looks for unsent rows; this index stays as small as the backlog.
    CREATE INDEX outbox_unsent ON outbox (id) WHERE sent_at IS NULL;
    CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('outbox', ''); RETURN NULL; END $$;
    -- A wake-up for the relay, delivered at commit; the row itself is the data.
    CREATE TRIGGER outbox_inserted AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();

    CREATE TABLE inbox (
      message_id uuid PRIMARY KEY,
      type text NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    );
    -- The cleanup finds old inbox rows by age.
    CREATE INDEX inbox_received ON inbox (received_at);
  `);
}
