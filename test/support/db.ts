// Each test file gets databases and broker names of its own, so that runs never collide.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const postgresUrl = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
export const amqpUrl = process.env.TEST_AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

/** A unique lower-case name for this test file's databases and exchange/queue namespace. */
export function uniqueName(prefix: string): string {
  return `t_${prefix.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`;
}

export function databaseUrl(name: string): string {
  return `${postgresUrl}/${name}`;
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: `${postgresUrl}/postgres` });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Drops a test database, ending whatever connections are still open on it. */
export async function dropDatabase(name: string): Promise<void> {
  await admin((c) => c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Ends every connection to a database, as a PostgreSQL restart would. */
export async function terminateConnections(name: string): Promise<number> {
  return admin(async (c) => {
    const { rowCount } = await c.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
    return rowCount ?? 0;
  });
}

/** Runs one query against a test database. */
export async function query<T extends pg.QueryResultRow = pg.QueryResultRow>(name: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: databaseUrl(name) });
  await client.connect();
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
