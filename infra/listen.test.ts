import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query, terminateConnections, uniqueName } from '../test/support/db.js';
import { listen, type Listener } from './listen.js';

const database = uniqueName('listen');
const channel = 'outbox_test';
const listeners: Listener[] = [];

beforeAll(async () => {
  await query('postgres', `CREATE DATABASE ${database}`);
});

afterAll(async () => {
  await Promise.all(listeners.splice(0).map((l) => l.stop()));
  await dropDatabase(database);
});

function start(onWake: () => void, on = channel): Listener {
  const listener = listen(databaseUrl(database), on, onWake);
  listeners.push(listener);
  return listener;
}

/** The sessions on the test database that are listening, as PostgreSQL sees them. */
async function listeningSessions(): Promise<number> {
  const rows = await query<{ count: string }>(
    'postgres',
    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 AND query ILIKE 'LISTEN%'",
    [database],
  );
  return Number(rows[0]!.count);
}

const notify = (on = channel) => query(database, `NOTIFY ${on}`);

describe('listen', () => {
  it('wakes once on connect and on each NOTIFY, and again after the connection is lost', async () => {
    let wakes = 0;
    const listener = start(() => wakes++);
    await eventually(() => wakes === 1, 'the wake-up of the first connect');
    await eventually(async () => (await listeningSessions()) === 1, 'the LISTEN session');
    expect(wakes).toBe(1);

    await notify();
    await eventually(() => wakes === 2, 'the first NOTIFY');
    await notify();
    await notify('some_other_channel');
    await notify();
    await eventually(() => wakes === 4, 'two more NOTIFYs');

    // As a PostgreSQL restart would: NOTIFYs sent now are lost, so the reconnect itself wakes.
    expect(await terminateConnections(database)).toBeGreaterThanOrEqual(1);
    await eventually(() => wakes === 5, 'the wake-up of the reconnect');
    await eventually(async () => (await listeningSessions()) === 1, 'the LISTEN session to be back');

    await notify();
    await eventually(() => wakes === 6, 'a NOTIFY after the reconnect');

    await listener.stop();
    await eventually(async () => (await listeningSessions()) === 0, 'the LISTEN session to end');
    await notify();
    // Longer than the first reconnect backoff (100 ms): a listener that came back would be seen by now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await listeningSessions()).toBe(0);
    expect(wakes).toBe(6);
  });

  it('keeps retrying while the database refuses it, and wakes once it gets through', async () => {
    const other = uniqueName('listen_late');
    let wakes = 0;
    const listener = listen(databaseUrl(other), channel, () => wakes++);
    listeners.push(listener);
    try {
      // The database does not exist yet: each attempt fails and is retried after a backoff.
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(wakes).toBe(0);
      await query('postgres', `CREATE DATABASE ${other}`);
      await eventually(() => wakes === 1, 'the wake-up once the database exists');
      await query(other, `NOTIFY ${channel}`);
      await eventually(() => wakes === 2, 'a NOTIFY on the late database');
    } finally {
      await listener.stop();
      await dropDatabase(other);
    }
  });

  it('listens on a channel whose name needs quoting', async () => {
    let wakes = 0;
    const listener = start(() => wakes++, 'Outbox-Events');
    await eventually(() => wakes === 1, 'the wake-up of the connect');
    await query(database, 'NOTIFY "Outbox-Events"');
    await eventually(() => wakes === 2, 'the NOTIFY on the quoted channel');
    await listener.stop();
  });

  it('stop() during a reconnect backoff ends it for good', async () => {
    let wakes = 0;
    const listener = start(() => wakes++);
    await eventually(() => wakes === 1, 'the wake-up of the connect');
    await eventually(async () => (await listeningSessions()) === 1, 'the LISTEN session');
    await terminateConnections(database);
    await listener.stop();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await listeningSessions()).toBe(0);
    expect(wakes).toBe(1);
  });
});

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
