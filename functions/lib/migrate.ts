// Each service creates its database if it is missing and migrates it on start: plain SQL per
// migration, applied once, in the order of their names, by one process at a time.
import middy from '@middy/core';
import pg from 'pg';
import { classify, query, transaction, type Db } from './db.js';
import type { Service } from './service.js';

/** Creates the database named in `url` if it does not exist; safe when several processes race. */
export async function ensureDatabase(url: string): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const client = new pg.Client({ connectionString: admin.toString() });
  client.on('error', () => undefined);
  await client.connect().catch((error: unknown) => {
    throw classify(error);
  });
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

/** Migrations by name, applied in the order of their names; each is SQL run once per database. */
export type Migrations = Record<string, string>;

/** Applies the migrations the database has not seen, all in one transaction; resolves with their names. */
export async function migrate(db: Db, migrations: Migrations): Promise<string[]> {
  return transaction(db, async (tx) => {
    // One migrator at a time (every process of a service migrates on start): the others wait here
    // and then find nothing left to do.
    await query(tx, "SELECT pg_advisory_xact_lock(hashtext('shop.migrations'))");
    await query(tx, 'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
    const done = new Set((await query<{ name: string }>(tx, 'SELECT name FROM schema_migrations')).map((r) => r.name));
    const applied: string[] = [];
    for (const name of Object.keys(migrations).sort()) {
      if (done.has(name)) continue;
      await query(tx, migrations[name]!);
      await query(tx, 'INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
      applied.push(name);
    }
    return applied;
  });
}

/** The migrate function of a service: creates its database if missing and brings it up to date. */
export function migrationHandler(service: Service, migrations: Migrations) {
  return middy().handler(async () => {
    await ensureDatabase(service.config.databaseUrl);
    return { applied: await migrate(service.db, migrations) };
  });
}

/** The tables every service has beside its own: outbox, inbox and idempotency keys. */
export const sharedTables = `
  CREATE TABLE outbox (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
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

  CREATE TABLE idempotency_keys (
    route text NOT NULL,
    key text NOT NULL,
    -- What the first request was, so another request under the same key is told apart.
    fingerprint text NOT NULL,
    status integer NOT NULL,
    headers jsonb NOT NULL,
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (route, key)
  );
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_at);
`;
