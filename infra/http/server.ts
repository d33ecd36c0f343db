// The HTTP server of a runner: it matches each request to a route and answers it with the function,
// the proxy or the stream behind it, every failure a problem+json; on close it lets requests in
// flight finish.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { bodyLimitBytes } from '../../functions/lib/config.js';
import { log } from '../../functions/lib/log.js';
import { HttpProblem, problemResponse } from '../../functions/lib/problem.js';
import { lambdaContext } from '../host.js';
import { buildEventV2, readBody, tooLarge, writeResponse } from './apiGateway.js';
import { forward } from './proxy.js';
import { matchRoute, type LocalRoute, type Route } from './routes.js';

export interface HttpHost {
  server: http.Server;
  /** Resolves with the bound port (useful with port 0) */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, lets in-flight requests finish, destroys what is left after timeoutMs */
  close(timeoutMs: number): Promise<void>;
}

export interface HttpHostOptions { bodyLimit?: number; upstreamTimeoutMs?: number }

const defaults = { bodyLimit: bodyLimitBytes, upstreamTimeoutMs: 10_000 };

const internalError = (): HttpProblem => new HttpProblem(500, 'The request could not be completed');

async function invoke(route: LocalRoute, event: APIGatewayProxyEventV2): Promise<APIGatewayProxyResultV2> {
  try {
    return await route.handler(event, lambdaContext(route.name));
  } catch (error) {
    log.error('http.function_failed', { function: route.name, error, stack: error instanceof Error ? error.stack : undefined });
    throw internalError();
  }
}

function requestUrl(req: IncomingMessage): URL {
  try {
    return new URL(`http://${req.headers.host ?? 'localhost'}${req.url ?? '/'}`);
  } catch {
    throw new HttpProblem(400, 'The request target or Host header is not a valid URL');
  }
}

export function createHttpHost(routes: Route[], options: HttpHostOptions = {}): HttpHost {
  const settings = { ...defaults, ...options };
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value <= 0) throw new Error(`createHttpHost: ${name} must be a positive integer, got ${value}`);
  }
  // The agent's timeout lets Node honour an upstream's Keep-Alive hint and drop a free socket before
  // the upstream closes it under a new request.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 60_000 });
  const inFlight = new Set<ServerResponse>();
  let closing = false;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    inFlight.add(res);
    res.once('close', () => inFlight.delete(res));
    if (closing) res.setHeader('connection', 'close');
    try {
      const url = requestUrl(req);
      const method = req.method ?? 'GET';
      const match = matchRoute(routes, method, url.pathname);
      if (!match) throw new HttpProblem(404, `No route matches ${url.pathname}`);
      if ('allow' in match) {
        const allow = match.allow.join(', ');
        throw new HttpProblem(405, `${method} is not allowed on ${url.pathname}; allowed: ${allow}`, { headers: { allow } });
      }
      const { route, pathParameters } = match;
      if ('stream' in route) return route.stream(req, res, url);
      if ('upstream' in route) {
        // The service would refuse it at once and close while the rest is still being sent, which
        // the proxy sees as EPIPE (a 502): refuse it here, as API Gateway does past its own limit.
        if (Number(req.headers['content-length'] ?? 0) > settings.bodyLimit) throw tooLarge(settings.bodyLimit);
        await forward(req, res, url, route, agent, settings.upstreamTimeoutMs, settings.bodyLimit);
        return;
      }
      const body = await readBody(req, settings.bodyLimit);
      writeResponse(res, await invoke(route, buildEventV2(req, url, body, route, pathParameters)));
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (!(error instanceof HttpProblem)) log.error('http.request_failed', { method: req.method, url: req.url, error });
      writeResponse(res, problemResponse(error instanceof HttpProblem ? error : internalError()));
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  // Above a load balancer's 60 s idle timeout, so the balancer closes idle connections, never us
  // under a request it is sending; headersTimeout must exceed keepAliveTimeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: (timeoutMs) =>
      new Promise((resolve) => {
        closing = true;
        for (const res of inFlight) if (!res.headersSent) res.setHeader('connection', 'close');
        const forceClose = setTimeout(() => server.closeAllConnections(), timeoutMs);
        server.close(() => {
          clearTimeout(forceClose);
          agent.destroy();
          resolve();
        });
      }),
  };
}
