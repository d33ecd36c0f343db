// Seen from outside: every service answers GET /health (the process is alive) and GET /ready (what
// it needs is reachable), and /ready shows each outbox's backlog, so a stuck relay is visible.
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import pg from 'pg';
import { connectAmqp } from '../functions/lib/amqp.js';
import type { Config } from '../functions/lib/config.js';
import { HttpProblem, problemResponse } from '../functions/lib/problem.js';
import type { LocalRoute } from './http/routes.js';
import { hasDatabase, type Service } from './manifest.js';

export type Check = () => Promise<Record<string, unknown>>;

const checkTimeoutMs = 2_000;

function withTimeout<T>(work: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${checkTimeoutMs} ms`)), checkTimeoutMs);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

const noStore = { 'cache-control': 'no-store' };

const json = (body: unknown): APIGatewayProxyStructuredResultV2 => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json', ...noStore },
  body: JSON.stringify(body),
});

/** The service's database is reachable; reports its outbox backlog. */
function databaseCheck(url: string): { check: Check; close(): Promise<void> } {
  const pool = new pg.Pool({ connectionString: url, max: 1, connectionTimeoutMillis: checkTimeoutMs, query_timeout: checkTimeoutMs });
  pool.on('error', () => undefined);
  return {
    check: async () => {
      const { rows } = await pool.query<{ unsent: number; oldest: number | null }>(
        `SELECT count(*)::int AS unsent, extract(epoch FROM now() - min(occurred_at))::float8 AS oldest
           FROM outbox WHERE sent_at IS NULL`,
      );
      const { unsent, oldest } = rows[0]!;
      return { outbox: { unsent, oldest_unsent_seconds: oldest === null ? null : Math.round(oldest * 10) / 10 } };
    },
    close: () => pool.end(),
  };
}

/**
 * RabbitMQ is reachable: one connection per process, kept open and recovered like the others, whose
 * state is the answer (a dropped socket shows at once, a silent broker after its missed heartbeats).
 */
function brokerCheck(url: string, name: string): { check: Check; close(): Promise<void> } {
  let connected = false;
  let lastError = 'not connected yet';
  const connection = connectAmqp(url, name, async () => {
    connected = true;
  }).then((c) => {
    c.on('disconnect', (error: Error) => {
      connected = false;
      lastError = error.message;
    });
    c.on('connect-failed', (error: Error) => {
      lastError = error.message;
    });
    return c;
  });
  return {
    check: async () => {
      if (!connected) throw new Error(`RabbitMQ is unreachable: ${lastError}`);
      return {};
    },
    close: async () => (await connection).close().catch(() => undefined),
  };
}

/** Each upstream service is ready. */
export function upstreamCheck(upstreams: Record<string, string>): Check {
  return async () => {
    const answers = await Promise.all(
      Object.entries(upstreams).map(async ([name, base]) => {
        const response = await fetch(`${base}/ready`, { signal: AbortSignal.timeout(checkTimeoutMs) }).catch((error: Error) => {
          throw new Error(`${name} at ${base} is unreachable: ${error.message}`);
        });
        const body = (await response.json()) as Record<string, unknown>;
        if (!response.ok) throw new Error(`${name} is not ready: ${JSON.stringify(body.checks ?? body)}`);
        return [name, body.checks] as const;
      }),
    );
    return Object.fromEntries(answers);
  };
}

async function readiness(checks: Record<string, Check>): Promise<{ ready: boolean; checks: Record<string, unknown> }> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        return [name, { ok: true, ...(await withTimeout(check(), name)) }] as const;
      } catch (error) {
        return [name, { ok: false, error: (error as Error).message }] as const;
      }
    }),
  );
  return { ready: results.every(([, r]) => r.ok), checks: Object.fromEntries(results) };
}

/** Answered by every service's runner itself (documented in openapi.yaml under these operation ids). */
export const healthRoute = { method: 'GET', path: '/health', name: 'health' } as const;
export const readyRoute = { method: 'GET', path: '/ready', name: 'ready' } as const;

/** What a service needs beyond its process: its database and RabbitMQ, when it has a database. */
export function dependencyChecks(service: Service, config: Config): { checks: Record<string, Check>; close(): Promise<void> } {
  if (!hasDatabase(service)) return { checks: {}, close: async () => undefined };
  const database = databaseCheck(config.databaseUrl);
  const broker = brokerCheck(config.amqpUrl, `${service}-ready`);
  return {
    checks: { database: database.check, broker: broker.check },
    close: async () => {
      await Promise.all([database.close(), broker.close()]);
    },
  };
}

export function healthRoutes(service: string, checks: Record<string, Check>): LocalRoute[] {
  return [
    { ...healthRoute, handler: async () => json({ status: 'alive', service }) },
    {
      ...readyRoute,
      handler: async () => {
        const { ready, checks: results } = await readiness(checks);
        if (ready) return json({ status: 'ready', service, checks: results });
        const missing = Object.entries(results).filter(([, r]) => !(r as { ok: boolean }).ok).map(([name]) => name);
        // A problem like every other error, whose extension members are the same report as when ready.
        const problem = new HttpProblem(503, `${service} cannot reach: ${missing.join(', ')}`, {
          type: '/problems/not-ready',
          extensions: { service, checks: results },
          headers: noStore,
        });
        return problemResponse(problem);
      },
    },
  ];
}
