// The runner hosts one service's functions from serverless.yml in one process: each host below finds
// its work among them (routes, proxies, streams, schedules, queues), calls each function with its
// Lambda event, and stops on request; one HTTP server answers every host's routes.
import type { Config } from '../functions/lib/config.js';
import { log } from '../functions/lib/log.js';
import { dependencyChecks, healthRoutes } from './health.js';
import { lambdaContext, withRetry, type AnyHandler, type Host, type HostContext, type StartHost } from './host.js';
import { proxyServices, serveFunctions } from './http/hosts.js';
import { createHttpHost } from './http/server.js';
import { functionsOf, type FunctionSpec, type Service } from './manifest.js';
import { consumeQueues } from './rmq.js';
import { runSchedules } from './schedule.js';
import { serveStreams } from './stream/host.js';

type Loader = (fn: FunctionSpec) => Promise<AnyHandler>;

interface RunnerOptions {
  service: Service;
  config: Config;
  load: Loader;
  /** Host only these functions (default: all of the service) */
  only?: readonly string[];
}

export interface Runner {
  port: number;
  stop(): Promise<void>;
}

/** Migrations run before anything else takes work, retried while PostgreSQL is not up yet. */
const runOnStart: StartHost = async ({ functions, invoke, stopping, service }) => {
  for (const fn of functions.filter((f) => f.onStart)) {
    const result = await withRetry(fn.name, () => invoke(fn, {}), stopping);
    log.info('runner.started_up', { service, function: fn.name, ...(result as object) });
  }
  return undefined;
};

const hosts: StartHost[] = [runOnStart, serveFunctions, proxyServices, serveStreams, runSchedules, consumeQueues];

export async function startRunner({ service, config, load, only }: RunnerOptions): Promise<Runner> {
  const functions = functionsOf(service).filter((fn) => !only || only.includes(fn.name));
  const handlers = new Map<string, AnyHandler>();
  for (const fn of functions) handlers.set(fn.name, await load(fn));
  let stopping = false;
  const context: HostContext = {
    service,
    config,
    functions,
    handlerOf: (fn) => handlers.get(fn.name)!,
    invoke: (fn, event) => handlers.get(fn.name)!(event as never, lambdaContext(fn.name)),
    stopping: () => stopping,
  };

  const started: Host[] = [];
  for (const start of hosts) {
    const host = await start(context);
    if (host) started.push(host);
  }
  const dependencies = dependencyChecks(service, config);
  const checks = Object.assign({}, dependencies.checks, ...started.map((h) => h.checks ?? {}));
  const http = createHttpHost([...started.flatMap((h) => h.routes ?? []), ...healthRoutes(service, checks)], {
    upstreamTimeoutMs: config.upstreamTimeoutMs,
  });
  const port = await http.listen(config.port);
  log.info('runner.started', { service, port, functions: functions.map((f) => f.name) });

  return {
    port,
    async stop() {
      stopping = true;
      // Stop taking work, then let what is in flight finish; event streams end at once, as they never would.
      await Promise.all([http.close(config.shutdownTimeoutMs), ...started.map((h) => h.stop())]);
      await dependencies.close();
      log.info('runner.stopped', { service });
    },
  };
}
