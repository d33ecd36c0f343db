// The runner hosts one service's functions from serverless.yml in one process: HTTP routes,
// schedules (woken by NOTIFY) and RabbitMQ consumers, each handler called with its Lambda event.
import type { ScheduledEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { Config } from '../functions/lib/config.js';
import { log } from '../functions/lib/log.js';
import { names } from '../functions/lib/topology.js';
import { brokerCheck, databaseCheck, healthRoutes, upstreamCheck, type Check } from './health.js';
import { createHttpHost, lambdaContext, type HttpFunction, type HttpHost, type Route } from './http.js';
import { listen, type Listener } from './listen.js';
import { functionsOf, manifest, type FunctionSpec, type Service } from './manifest.js';
import { startQueueConsumer, type QueueConsumer } from './rmq.js';
import { backoff, startSchedule, type Schedule } from './schedule.js';
import { startStatusStream, type StatusStreamHost } from './statusStream.js';

// A handler of any kind; each host below knows which event its functions take.
export type AnyHandler = (event: never, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
export type Loader = (fn: FunctionSpec) => Promise<AnyHandler>;

export interface RunnerOptions {
  service: Service;
  config: Config;
  load: Loader;
  /** Host only these functions (default: all of the service) */
  only?: readonly string[];
}

export interface Runner {
  /** The bound HTTP port, when the service has routes */
  port: number | undefined;
  stop(): Promise<void>;
}

const functionTimeoutMs = 15_000;

export function scheduledEvent(fn: FunctionSpec): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: [`arn:aws:events:local:000000000000:rule/${fn.name}`],
    detail: {},
  };
}

/** Retries `attempt` with a growing delay until it succeeds: a dependency may still be starting. */
export async function withRetry<T>(what: string, attempt: () => Promise<T>, isStopped = () => false): Promise<T> {
  for (let failures = 1; ; failures += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (isStopped()) throw error;
      log.warn('runner.retry', { what, failures, error });
      await new Promise((resolve) => setTimeout(resolve, backoff(failures, 200, 5_000)));
    }
  }
}

function upstreamOf(service: Service, config: Config): string | undefined {
  return { payments: config.paymentsUrl, orders: config.ordersUrl, gateway: undefined }[service];
}

export async function startRunner({ service, config, load, only }: RunnerOptions): Promise<Runner> {
  const fns = functionsOf(service).filter((fn) => !only || only.includes(fn.name));
  let stopped = false;
  const handlers = new Map<string, AnyHandler>();
  for (const fn of fns) handlers.set(fn.name, await load(fn));
  const call = (fn: FunctionSpec, event: unknown) => handlers.get(fn.name)!(event as never, lambdaContext(fn.name, functionTimeoutMs));

  // Migrations run before anything else takes work; PostgreSQL may not be up yet.
  for (const fn of fns.filter((f) => f.name.startsWith('migrate'))) {
    const result = await withRetry(fn.name, () => call(fn, {}), () => stopped);
    log.info('runner.migrated', { service, ...(result as object) });
  }

  const routes: Route[] = fns.flatMap((fn) =>
    fn.http.map((r) => ({ ...r, name: fn.name, handler: handlers.get(fn.name) as unknown as HttpFunction })),
  );
  let statusStream: StatusStreamHost | undefined;
  if (service === 'gateway') {
    // The gateway stands in for API Gateway: every other service's routes go to that service.
    for (const fn of manifest.filter((f) => f.service !== 'gateway')) {
      const upstream = upstreamOf(fn.service, config)!;
      routes.push(...fn.http.map((r) => ({ ...r, name: fn.name, upstream })));
    }
    // And it streams order status changes to browsers itself: no function can hold a stream open.
    statusStream = await startStatusStream({ amqpUrl: config.amqpUrl, namespace: config.amqpNamespace });
    routes.push(statusStream.route);
  }
  const database = service === 'gateway' ? undefined : databaseCheck(config.databaseUrl);
  const broker = service === 'gateway' ? undefined : brokerCheck(config.amqpUrl, `${service}-ready`);
  const checks: Record<string, Check> =
    database && broker
      ? { database: database.check, broker: broker.check }
      : { upstreams: upstreamCheck({ payments: config.paymentsUrl, orders: config.ordersUrl }) };
  routes.push(...healthRoutes(service, checks));

  let http: HttpHost | undefined;
  let port: number | undefined;
  if (routes.length) {
    http = createHttpHost(routes, { upstreamTimeoutMs: config.upstreamTimeoutMs });
    port = await http.listen(config.port);
  }

  const schedules: Schedule[] = [];
  const listeners: Listener[] = [];
  const wakeups = new Map<string, Schedule[]>();
  for (const fn of fns.filter((f) => f.schedules.length)) {
    const interval = config.scheduleIntervalMs || Math.min(...fn.schedules);
    const schedule = startSchedule(fn.name, interval, () => call(fn, scheduledEvent(fn)));
    schedules.push(schedule);
    if (fn.wakeOn) wakeups.set(fn.wakeOn, [...(wakeups.get(fn.wakeOn) ?? []), schedule]);
  }
  for (const [channel, woken] of wakeups) {
    listeners.push(listen(config.databaseUrl, channel, () => woken.forEach((s) => s.wake())));
  }

  const consumers: QueueConsumer[] = [];
  const n = names(config.amqpNamespace);
  for (const fn of fns) {
    for (const source of fn.queues) {
      consumers.push(
        await startQueueConsumer({
          url: config.amqpUrl,
          namespace: config.amqpNamespace,
          deliveryLimit: config.deliveryLimit,
          queue: n.queue(source.queue),
          batchSize: source.batchSize,
          name: `${service}-${fn.name}`,
          handler: (event) => call(fn, event),
        }),
      );
    }
  }
  log.info('runner.started', { service, port, functions: fns.map((f) => f.name) });

  return {
    port,
    async stop() {
      stopped = true;
      // Stop taking work, then let what is in flight finish; event streams end at once, as they never would.
      await Promise.all([
        statusStream?.stop(),
        http?.close(config.shutdownTimeoutMs),
        ...consumers.map((c) => c.stop()),
        ...schedules.map((s) => s.stop()),
        ...listeners.map((l) => l.stop()),
      ]);
      await Promise.all([database?.close(), broker?.close()]);
      log.info('runner.stopped', { service });
    },
  };
}
