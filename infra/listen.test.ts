import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseUrl, dropDatabase, query, terminateConnections, uniqueName } from '../test/support/db.js';
import { holdsFor, waitFor } from '../test/support/system.js';
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
    await waitFor('the wake-up of the first connect', async () => wakes === 1);
    await waitFor('the LISTEN session', async () => (await listeningSessions()) === 1);
    expect(wakes).toBe(1);

    await notify();
    await waitFor('the first NOTIFY', async () => wakes === 2);
    await notify();
    await notify('some_other_channel');
    await notify();
    await waitFor('two more NOTIFYs', async () => wakes === 4);

    // As a PostgreSQL restart would: NOTIFYs sent now are lost, so the reconnect itself wakes.
    expect(await terminateConnections(database)).toBeGreaterThanOrEqual(1);
    await waitFor('the wake-up of the reconnect', async () => wakes === 5);
    await waitFor('the LISTEN session to be back', async () => (await listeningSessions()) === 1);

    await notify();
    await waitFor('a NOTIFY after the reconnect', async () => wakes === 6);

    await listener.stop();
    await waitFor('the LISTEN session to end', async () => (await listeningSessions()) === 0);
    await notify();
    // Longer than the first reconnect backoff (100 ms): a listener that came back would be seen.
    await holdsFor('no LISTEN session and no wake-up after stop', async () => (await listeningSessions()) === 0 && wakes === 6, 300);
  });

  it('keeps retrying while the database refuses it, and wakes once it gets through', async () => {
    const other = uniqueName('listen_late');
    let wakes = 0;
    const listener = listen(databaseUrl(other), channel, () => wakes++);
    listeners.push(listener);
    try {
      // The database does not exist yet: each attempt fails and is retried after a backoff.
      await holdsFor('no wake-up while the database is missing', () => wakes === 0, 150);
      await query('postgres', `CREATE DATABASE ${other}`);
      await waitFor('the wake-up once the database exists', async () => wakes === 1);
      await query(other, `NOTIFY ${channel}`);
      await waitFor('a NOTIFY on the late database', async () => wakes === 2);
    } finally {
      await listener.stop();
      await dropDatabase(other);
    }
  });

  it('listens on a channel whose name needs quoting', async () => {
    let wakes = 0;
    const listener = start(() => wakes++, 'Outbox-Events');
    await waitFor('the wake-up of the connect', async () => wakes === 1);
    await query(database, 'NOTIFY "Outbox-Events"');
    await waitFor('the NOTIFY on the quoted channel', async () => wakes === 2);
    await listener.stop();
  });

  it('stop() during a reconnect backoff ends it for good', async () => {
    let wakes = 0;
    const listener = start(() => wakes++);
    await waitFor('the wake-up of the connect', async () => wakes === 1);
    await waitFor('the LISTEN session', async () => (await listeningSessions()) === 1);
    await terminateConnections(database);
    await listener.stop();
    await holdsFor('no LISTEN session and no wake-up after stop', async () => (await listeningSessions()) === 0 && wakes === 1, 300);
  });
});
