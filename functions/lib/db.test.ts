// The database layer on the real PostgreSQL: what counts as "unavailable" (and so a 503 to retry)
// and what is a plain failure, transactions that commit or roll back as one, and a connection
// ended by the server in the middle of a transaction, which must not take the process down.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query as queryAs, uniqueName } from '../../test/support/db.js';
import { freePort } from '../../scripts/lib/freePort.js';
import { waitFor } from '../../test/support/system.js';
import { createPool, DatabaseUnavailable, statement, transaction, type Db } from './db.js';
import { ensureDatabase, migrate } from './migrate.js';

const name = uniqueName('db');
let db: Db;

const insertNote = statement<{ id: number }>('test.insert-note', 'INSERT INTO notes (text) VALUES ($1) RETURNING id');
const countNotes = async () => (await queryAs<{ n: number }>(name, 'SELECT count(*)::int AS n FROM notes'))[0]!.n;

beforeAll(async () => {
  await ensureDatabase(databaseUrl(name));
  db = createPool(databaseUrl(name), 2);
  await migrate(db, { '001_notes': 'CREATE TABLE notes (id int GENERATED ALWAYS AS IDENTITY PRIMARY KEY, text text NOT NULL UNIQUE)' });
});

afterAll(async () => {
  await db.end();
  await dropDatabase(name);
});

describe('migrate', () => {
  it('applies each migration once, in the order of their names, and records it', async () => {
    const second = { '001_notes': 'SELECT 1/0', '002_tags': 'ALTER TABLE notes ADD COLUMN tag text' };
    expect(await migrate(db, second)).toEqual(['002_tags']);
    expect(await migrate(db, second)).toEqual([]);
    const names = await queryAs<{ name: string }>(name, 'SELECT name FROM schema_migrations ORDER BY name');
    expect(names.map((r) => r.name)).toEqual(['001_notes', '002_tags']);
  });

  it('leaves nothing behind when a migration fails, and does not record it', async () => {
    await expect(migrate(db, { '003_good': 'CREATE TABLE kept (x int)', '004_bad': 'CREATE TABLE broken (' })).rejects.toThrow(/syntax error/);
    expect(await queryAs(name, "SELECT 1 FROM pg_tables WHERE tablename = 'kept'")).toEqual([]);
  });
});

describe('statements and transactions', () => {
  it('runs a named statement again and again on every connection of the pool', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => insertNote(db, [`named ${i}`])));
    expect(new Set(ids.map(([row]) => row!.id)).size).toBe(6);
  });

  it('commits all the work of a transaction, or none of it when it throws', async () => {
    const before = await countNotes();
    await transaction(db, async (tx) => {
      await insertNote(tx, ['committed 1']);
      await insertNote(tx, ['committed 2']);
    });
    await expect(
      transaction(db, async (tx) => {
        await insertNote(tx, ['rolled back']);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await countNotes()).toBe(before + 2);
  });

  it('reports a broken rule as what it is, not as an unavailable database', async () => {
    await insertNote(db, ['unique']);
    const error = await insertNote(db, ['unique']).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(pg.DatabaseError);
    expect(error).toMatchObject({ code: '23505' });
  });
});

describe('an unavailable database', () => {
  it('is one that refuses connections', async () => {
    const nowhere = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/nothing`, 1);
    try {
      await expect(insertNote(nowhere, ['x'])).rejects.toBeInstanceOf(DatabaseUnavailable);
      await expect(transaction(nowhere, async () => undefined)).rejects.toBeInstanceOf(DatabaseUnavailable);
    } finally {
      await nowhere.end();
    }
  });

  it('is one that ends the connection in the middle of a transaction; the process lives on and the pool recovers', async () => {
    const before = await countNotes();
    const failed = await transaction(db, async (tx) => {
      await insertNote(tx, ['lost with its connection']);
      const [{ pid }] = (await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
      await queryAs(name, 'SELECT pg_terminate_backend($1)', [pid]);
      await waitFor('the backend to be gone', async () => (await queryAs(name, 'SELECT 1 FROM pg_stat_activity WHERE pid = $1', [pid])).length === 0);
      await insertNote(tx, ['never written']);
    }).catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(DatabaseUnavailable);
    expect(await countNotes()).toBe(before);
    await insertNote(db, ['after the restart']);
    expect(await countNotes()).toBe(before + 1);
  });
});
