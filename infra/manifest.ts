// Reads serverless.yml: the one list of functions, their handlers and their events, shared by the
// build, the runner and the gateway so that a route cannot exist in one host and not in another.
import { parse } from 'yaml';
import manifestText from '../serverless.yml?raw';

export type Service = 'payments' | 'orders' | 'gateway';

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
}

interface RawEvent {
  httpApi?: { method: string; path: string };
  rabbitmq?: { queue: string; batchSize?: number };
  schedule?: string | { rate: string | string[] };
}

interface RawManifest {
  functions: Record<string, { handler: string; events?: RawEvent[] }>;
  custom?: { runner?: { wakeOn?: Record<string, string> } };
}

const services: readonly Service[] = ['payments', 'orders', 'gateway'];
// Lambda's event source reads the full queue name from serverless.yml; the runner adds AMQP_NAMESPACE itself.
const namespacePrefix = /^\$\{param:amqpNamespace\}\./;

export function parseRate(expression: string): number {
  const match = /^rate\((\d+) (second|seconds|minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new Error(`unsupported schedule expression: ${expression}`);
  const unit = match[2]!.replace(/s$/, '');
  const unitMs = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }[unit]!;
  return Number(match[1]) * unitMs;
}

export function parseManifest(text: string): FunctionSpec[] {
  const raw = parse(text) as RawManifest;
  const wakeOn = raw.custom?.runner?.wakeOn ?? {};
  return Object.entries(raw.functions).map(([name, fn]) => {
    // Handlers name the bundles (dist/functions/<service>/<module>.<export>), as Lambda loads them.
    const dot = fn.handler.lastIndexOf('.');
    const module = fn.handler.slice(0, dot).replace(/^dist\//, '');
    const service = module.split('/')[1] as Service;
    if (!fn.handler.startsWith('dist/functions/') || !services.includes(service)) {
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
      wakeOn: wakeOn[name],
    };
  });
}

export const manifest: readonly FunctionSpec[] = parseManifest(manifestText);

export function functionsOf(service: Service): FunctionSpec[] {
  return manifest.filter((fn) => fn.service === service);
}
