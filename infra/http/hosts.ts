// The routes of a service: those of the functions this process hosts, each answered by calling its
// function, and those of the services it stands in front of (the gateway's), each by proxy.
import type { Config } from '../../functions/lib/config.js';
import type { StartHost } from '../host.js';
import { upstreamCheck } from '../health.js';
import { functionsOf, proxies, type Service } from '../manifest.js';
import type { HttpFunction, Route } from './routes.js';

export const serveFunctions: StartHost = async ({ functions, handlerOf }) => {
  const routes: Route[] = functions.flatMap((fn) => fn.http.map((r) => ({ ...r, name: fn.name, handler: handlerOf(fn) as HttpFunction })));
  return routes.length ? { routes, stop: async () => undefined } : undefined;
};

const urlOf = (config: Config): Partial<Record<Service, string>> => ({ payments: config.paymentsUrl, orders: config.ordersUrl });

export const proxyServices: StartHost = async ({ service, config }) => {
  const upstreams = Object.fromEntries((proxies[service] ?? []).map((name) => [name, urlOf(config)[name]!]));
  if (Object.keys(upstreams).length === 0) return undefined;
  const routes: Route[] = Object.entries(upstreams).flatMap(([name, upstream]) =>
    functionsOf(name as Service).flatMap((fn) => fn.http.map((r) => ({ ...r, name: fn.name, upstream }))),
  );
  return { routes, checks: { upstreams: upstreamCheck(upstreams) }, stop: async () => undefined };
};
