// Configuration, read and checked once per process. Defaults work on a developer's machine with
// PostgreSQL and RabbitMQ on localhost; a wrong value stops the process with the variable's name.
export const services = ['payments', 'orders', 'gateway'] as const;
export type ServiceName = (typeof services)[number];

/** The largest request body any route takes, in every host (API Gateway's own limit is larger). */
export const bodyLimitBytes = 64 * 1024;

type Env = Record<string, string | undefined>;

const defaultPorts: Record<ServiceName, number> = { payments: 8001, orders: 8002, gateway: 8005 };

function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new Error(`${name} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

function url(env: Env, name: string, fallback: string, protocols: string[]): string {
  const text = env[name] || fallback;
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new Error(`${name} must be a URL, got "${text}"`);
  }
  if (!protocols.includes(parsed.protocol)) throw new Error(`${name} must start with ${protocols.join(' or ')}, got "${text}"`);
  return text;
}

function name(env: Env, variable: string, fallback: string): string {
  const text = env[variable] || fallback;
  if (!/^[a-z][a-z0-9_.-]{0,100}$/.test(text)) throw new Error(`${variable} must be lower-case letters, digits, '.', '-' or '_', got "${text}"`);
  return text;
}

export function loadConfig(service: ServiceName, env: Env = process.env) {
  // PAYMENTS_DATABASE_URL (or ORDERS_...) wins over DATABASE_URL, so services can share one environment.
  const databaseVariable = env[`${service.toUpperCase()}_DATABASE_URL`] ? `${service.toUpperCase()}_DATABASE_URL` : 'DATABASE_URL';
  return {
    service,
    port: integer(env, 'PORT', defaultPorts[service], 0, 65535),
    databaseUrl: url(env, databaseVariable, `postgres://postgres@127.0.0.1:5432/shop_${service}`, ['postgres:', 'postgresql:']),
    databasePoolMax: integer(env, 'DATABASE_POOL_MAX', 4, 1, 100),
    amqpUrl: url(env, 'AMQP_URL', 'amqp://guest:guest@127.0.0.1:5672', ['amqp:', 'amqps:']),
    /** Prefix of the exchange and queue names, so that several systems can share one broker */
    amqpNamespace: name(env, 'AMQP_NAMESPACE', 'shop'),
    /** Deliveries of one message before it goes to its dead-letter queue */
    deliveryLimit: integer(env, 'AMQP_DELIVERY_LIMIT', 20, 1, 1000),
    relayBatchSize: integer(env, 'RELAY_BATCH_SIZE', 200, 1, 10_000),
    /**
     * Hours that sent outbox rows and inbox rows are kept. An inbox row must outlive every copy of its
     * message that the broker may still deliver (redeliveries, re-driven dead letters), hence a day at least.
     */
    retentionHours: integer(env, 'RETENTION_HOURS', 7 * 24, 24),
    /** Overrides the schedule of every scheduled function in the runner (0: as serverless.yml says) */
    scheduleIntervalMs: integer(env, 'SCHEDULE_INTERVAL_MS', 0, 0),
    paymentsUrl: url(env, 'PAYMENTS_URL', 'http://127.0.0.1:8001', ['http:']),
    ordersUrl: url(env, 'ORDERS_URL', 'http://127.0.0.1:8002', ['http:']),
    upstreamTimeoutMs: integer(env, 'UPSTREAM_TIMEOUT_MS', 10_000, 1),
    shutdownTimeoutMs: integer(env, 'SHUTDOWN_TIMEOUT_MS', 10_000, 0),
  };
}

export type Config = ReturnType<typeof loadConfig>;
