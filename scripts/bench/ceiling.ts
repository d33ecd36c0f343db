// The database's own ceiling for this work: pgbench runs the three commits of one order as plain SQL
// (ceiling.sql) on a database with both services' tables, as many clients as the load has.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { migrations as ordersMigrations } from '../../functions/orders/migrations.js';
import { migrations as paymentsMigrations } from '../../functions/payments/migrations.js';
import { createPool } from '../../functions/lib/db.js';
import { ensureDatabase, migrate } from '../../functions/lib/migrate.js';
import ceilingSql from './ceiling.sql?raw';

const run = promisify(execFile);

interface Ceiling {
  orders_per_s: number;
  clients: number;
  seconds: number;
}

export async function measureCeiling(postgresUrl: string, database: string, clients: number, seconds: number): Promise<Ceiling> {
  const url = Object.assign(new URL(postgresUrl), { pathname: `/${database}` }).toString();
  await ensureDatabase(url);
  const db = createPool(url, 1);
  try {
    // Both services' tables in one database; the shared ones (outbox, inbox) once.
    await migrate(db, { ...paymentsMigrations, ...ordersMigrations });
    await db.query("INSERT INTO wallets (user_id, balance) SELECT n, 1000000000 FROM generate_series(1, 1000) n");
  } finally {
    await db.end();
  }
  const target = new URL(url);
  const folder = mkdtempSync(join(tmpdir(), 'shop-ceiling-'));
  const script = join(folder, 'ceiling.sql');
  writeFileSync(script, ceilingSql);
  const { stdout } = await run(
    'pgbench',
    // Prepared statements, as the services' own statements are.
    ['-n', '-M', 'prepared', '-c', String(clients), '-j', '2', '-T', String(seconds), '-f', script,
      '-h', target.hostname, '-p', target.port || '5432', '-U', decodeURIComponent(target.username || 'postgres'), database],
    { env: { ...process.env, PGPASSWORD: decodeURIComponent(target.password) } },
  ).finally(() => rmSync(folder, { recursive: true, force: true }));
  const tps = /tps = ([\d.]+)/.exec(stdout)?.[1];
  if (!tps) throw new Error(`pgbench printed no rate:\n${stdout}`);
  return { orders_per_s: Math.round(Number(tps)), clients, seconds };
}
