// Reads serverless.yml: the one list of functions, their handlers and their events, shared by the
// build, the runner and the gateway so that a route cannot exist in one host and not in another;
// and, under custom.runner, what only the runner does (migrations first, wake-ups, proxies, streams).
import { services, type ServiceName } from '../functions/lib/config.js';
import type { MessageType } from '../functions/lib/messages.js';
import { rawManifest } from './manifest.gen.js';

export type Service = ServiceName;

export interface HttpRoute { method: string; path: string }
export interface QueueSource { queue: string; batchSize: number }

export interface FunctionSpec {
  name: string;
  service: Service;
  /** Module path without extension, e.g. functions/payments/deposit */
  module: string;
  /** Exported name of the handler in that module */
  exportName: string;
  http: HttpRoute[];
  queues: QueueSource[];
  /** Milliseconds between scheduled invocations */
  schedules: number[];
  /** PostgreSQL channel whose notifications invoke this scheduled function at once */
  wakeOn?: string;
  /** Invoked once, before the service takes any work */
  onStart: boolean;
}

/** A route a host answers with a stream of the messages of one type (Server-Sent Events). */
export interface StreamSpec extends HttpRoute {
  /** The route's operationId in openapi.yaml */
  name: string;
  service: Service;
  messages: MessageType;
}

interface Manifest {
  functions: FunctionSpec[];
  /** How long a function may run: provider.timeout */
  timeoutMs: number;
  /** The services whose routes each service serves by proxy */
  proxies: Partial<Record<Service, Service[]>>;
  streams: StreamSpec[];
}

interface RawEvent {
  httpApi?: { method: string; path: string };
  rabbitmq?: { queue: string; batchSize?: number };
  schedule?: string | { rate: string | string[] };
}

interface RawManifest {
  provider: { timeout: number };
  functions: Record<string, { handler: string; events?: RawEvent[] }>;
  custom?: {
    runner?: {
      onStart?: string[];
      wakeOn?: Record<string, string>;
      proxies?: Partial<Record<Service, Service[]>>;
      streams?: Record<string, Omit<StreamSpec, 'name'>>;
    };
  };
}

// Lambda's event source reads the full queue name from serverless.yml; the runner adds AMQP_NAMESPACE itself.
const namespacePrefix = /^\$\{param:amqpNamespace\}\./;

export function parseRate(expression: string): number {
  const match = /^rate\((\d+) (second|seconds|minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new Error(`unsupported schedule expression: ${expression}`);
  const unit = match[2]!.replace(/s$/, '');
  const unitMs = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[unit]!;
  return Number(match[1]) * unitMs;
}

const isService = (name: string): name is Service => (services as readonly string[]).includes(name);

function parseManifest(raw: RawManifest): Manifest {
  const runner = raw.custom?.runner ?? {};
  const functions = Object.entries(raw.functions).map(([name, fn]): FunctionSpec => {
    // Handlers name the bundles (dist/functions/<service>/<module>.<export>), as Lambda loads them.
    const dot = fn.handler.lastIndexOf('.');
    const module = fn.handler.slice(0, dot).replace(/^dist\//, '');
    const service = module.split('/')[1] ?? '';
    if (!fn.handler.startsWith('dist/functions/') || !isService(service)) {
      throw new Error(`${name}: handler ${fn.handler} is not under dist/functions/<service>/`);
    }
    const events = fn.events ?? [];
    const rates = events.flatMap((e) => {
      if (!e.schedule) return [];
      const rate = typeof e.schedule === 'string' ? e.schedule : e.schedule.rate;
      return Array.isArray(rate) ? rate : [rate];
    });
    return {
      name,
      service,
      module,
      exportName: fn.handler.slice(dot + 1),
      http: events.flatMap((e) => (e.httpApi ? [{ method: e.httpApi.method.toUpperCase(), path: e.httpApi.path }] : [])),
      queues: events.flatMap((e) => (e.rabbitmq ? [{ queue: e.rabbitmq.queue.replace(namespacePrefix, ''), batchSize: e.rabbitmq.batchSize ?? 100 }] : [])),
      schedules: rates.map(parseRate),
      wakeOn: runner.wakeOn?.[name],
      onStart: runner.onStart?.includes(name) ?? false,
    };
  });
  const streams = Object.entries(runner.streams ?? {}).map(([name, stream]) => ({ ...stream, name, method: stream.method.toUpperCase() }));
  return { functions, timeoutMs: raw.provider.timeout * 1000, proxies: runner.proxies ?? {}, streams };
}

const parsed = parseManifest(rawManifest as RawManifest);

export const manifest: readonly FunctionSpec[] = parsed.functions;
export const functionTimeoutMs = parsed.timeoutMs;
export const proxies = parsed.proxies;
export const streams: readonly StreamSpec[] = parsed.streams;

export function functionsOf(service: Service): FunctionSpec[] {
  return manifest.filter((fn) => fn.service === service);
}

/** A service with a database migrates it on start. */
export function hasDatabase(service: Service): boolean {
  return functionsOf(service).some((fn) => fn.onStart);
}
