// PostgreSQL through node-postgres: one small pool per service process (per function on Lambda and
// in serverless-offline), made at first use, outside the handler. Statements have fixed SQL text and
// a name, so each connection parses and plans them once; the migrations are in migrate.ts.
import pg from 'pg';
import { log } from './log.js';

export type Db = pg.Pool;
/** A connection inside a transaction */
export type Tx = pg.PoolClient;
/** What a statement runs on: the pool (a statement of its own) or a transaction's connection */
export type Sql = Db | Tx;

/**
 * The database could not be reached or went away mid-statement (refused, reset, restarting, shut
 * down, no connection in time): nothing was done, and the work can be retried.
 */
export class DatabaseUnavailable extends Error {
  constructor(cause: unknown) {
    super('the database is unavailable', { cause });
    this.name = 'DatabaseUnavailable';
  }
}

// SQLSTATE class 08 (connection exception), and 57P01-57P03 (the server is shutting down or starting).
const unavailableState = /^(08|57P0[123])/;

/**
 * Tells a database that is out of reach from a statement that failed. The server reports its errors
 * as DatabaseError with a SQLSTATE; the driver's own errors (refused, reset, timed out, connection
 * ended) are plain Errors; a TypeError or RangeError is a bug of ours and stays what it is.
 */
export function classify(error: unknown): unknown {
  if (error instanceof pg.DatabaseError) return unavailableState.test(error.code ?? '') ? new DatabaseUnavailable(error) : error;
  if (error instanceof Error && error.constructor === Error) return new DatabaseUnavailable(error);
  return error;
}

export function createPool(url: string, max: number): Db {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
    application_name: process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'shop',
    // A process frozen in the middle of a transaction (stopped, paused, partitioned) must not hold
    // its row locks for ever: PostgreSQL ends such a session, and its work is done again elsewhere.
    idle_in_transaction_session_timeout: 15_000,
  });
  // An idle connection that the server ends (a restart) is reported here; without a listener the process would crash.
  pool.on('error', (error) => log.warn('db.connection_lost', { error }));
  return pool;
}

/** The pool itself, not a transaction's connection. */
export function isPool(sql: Sql): sql is Db {
  return sql instanceof pg.Pool;
}

export type Statement<Row> = (sql: Sql, values?: unknown[]) => Promise<Row[]>;

/** A named statement: fixed SQL text, prepared once per connection; resolves with its rows. */
export function statement<Row extends pg.QueryResultRow = pg.QueryResultRow>(name: string, text: string): Statement<Row> {
  return async (sql, values = []) => {
    try {
      return (await sql.query<Row>({ name, text, values })).rows;
    } catch (error) {
      throw classify(error);
    }
  };
}

/** Runs SQL whose text is not fixed (a list with optional filters); resolves with its rows. */
export async function query<Row extends pg.QueryResultRow = pg.QueryResultRow>(sql: Sql, text: string, values: unknown[] = []): Promise<Row[]> {
  try {
    return (await sql.query<Row>(text, values)).rows;
  } catch (error) {
    throw classify(error);
  }
}

interface TransactionOptions {
  /**
   * False when losing the commit in a crash of the server does no harm, because the work is done
   * again (the relay's mark "sent": the rows are published again, and the inbox drops the copies):
   * the commit then returns without waiting for the disk.
   */
  durable?: boolean;
  /**
   * A first statement, sent with BEGIN in one round trip (a round trip to PostgreSQL is the largest
   * cost of a small transaction); its rows are handed to the work. Plain SQL with no parameters:
   * any value in it is written with `literal`.
   */
  opening?: string;
}

/** A value written into SQL text as a string literal, quoted and escaped. */
export function literal(value: string): string {
  return pg.escapeLiteral(value);
}

/** Runs `work` in a transaction: committed when it resolves, rolled back when it throws. */
export async function transaction<T, Opened extends pg.QueryResultRow = never>(
  db: Db,
  work: (tx: Tx, opened: Opened[]) => Promise<T>,
  { durable = true, opening }: TransactionOptions = {},
): Promise<T> {
  const tx = await db.connect().catch((error: unknown) => {
    throw classify(error);
  });
  let broken: unknown;
  // The pool listens to idle connections only: one in our hands that the server ends (a restart,
  // a terminated backend) reports it here, and would crash the process with no listener.
  const lost = (error: Error) => {
    broken = error;
    log.warn('db.connection_lost', { error });
  };
  tx.on('error', lost);
  try {
    const begin = durable ? 'BEGIN' : 'BEGIN; SET LOCAL synchronous_commit TO off';
    const results = await tx.query<Opened>(opening ? `${begin}; ${opening}` : begin).catch((error: unknown) => {
      throw classify(error);
    });
    // Several statements in one query answer with a result each; the opening's is the last.
    const opened = (Array.isArray(results) ? (results.at(-1) as pg.QueryResult<Opened>) : results).rows;
    const result = await work(tx, opening ? opened : []);
    await query(tx, 'COMMIT');
    return result;
  } catch (error) {
    // A connection that cannot even roll back is not given back to the pool.
    await tx.query('ROLLBACK').catch((rollbackError: unknown) => (broken = rollbackError));
    throw error;
  } finally {
    tx.off('error', lost);
    tx.release(broken instanceof Error ? broken : undefined);
  }
}
