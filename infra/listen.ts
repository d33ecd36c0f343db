// LISTEN on a dedicated PostgreSQL connection. A notification is only a wake-up: those sent while
// the connection is down are lost, so every (re)connect is reported as a wake-up too.
import pg from 'pg';
import { log } from '../functions/lib/log.js';
import { backoff } from './host.js';

export interface Listener {
  stop(): Promise<void>;
}

export function listen(url: string, channel: string, onWake: () => void): Listener {
  let client: pg.Client | undefined;
  let stopped = false;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;

  const retry = () => {
    client = undefined;
    if (stopped) return;
    failures += 1;
    timer = setTimeout(connect, backoff(failures));
  };

  async function connect(): Promise<void> {
    const c = new pg.Client({ connectionString: url, keepAlive: true });
    client = c;
    let failed = false;
    const lost = (error?: Error) => {
      if (failed) return;
      failed = true;
      if (!stopped) log.warn('listen.lost', { channel, error });
      c.end().catch(() => undefined);
      retry();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', () => onWake());
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      failures = 0;
      onWake();
    } catch (error) {
      lost(error as Error);
    }
  }

  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
