// The HTTP side of the runner, a local stand-in for API Gateway: match a route, then either build the
// payload 2.0 event and call the function, or stream the request to the service that owns the route.
import { randomUUID } from 'node:crypto';
import http, { type IncomingHttpHeaders, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { log } from '../functions/lib/log.js';
import { HttpProblem, problemResponse } from '../functions/lib/problem.js';

export type HttpFunction = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** `path` is an API Gateway template such as /api/wallet/{user_id}/deposit */
export interface LocalRoute { method: string; path: string; name: string; handler: HttpFunction }
/** `upstream` is the base URL of the service that owns the route, e.g. http://127.0.0.1:8001 */
export interface ProxyRoute { method: string; path: string; name: string; upstream: string }
/** Answered by the host itself with a long-lived response (Server-Sent Events): no event, no upstream, no timeout */
export interface StreamRoute { method: string; path: string; name: string; stream(req: IncomingMessage, res: ServerResponse, url: URL): void }
export type Route = LocalRoute | ProxyRoute | StreamRoute;

export interface HttpHost {
  server: http.Server;
  /** Resolves with the bound port (useful with port 0) */
  listen(port: number, host?: string): Promise<number>;
  /** Stops accepting, lets in-flight requests finish, destroys what is left after timeoutMs */
  close(timeoutMs: number): Promise<void>;
}

export interface HttpHostOptions { bodyLimit?: number; upstreamTimeoutMs?: number }

const defaults = { bodyLimit: 64 * 1024, upstreamTimeoutMs: 10_000 };
const defaultFunctionTimeoutMs = 15_000; // provider.timeout in serverless.yml

const hopByHopHeaders = new Set([
  'connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade',
]);
const textualContentType = /^(text\/[\w.+-]+|application\/(json|x-www-form-urlencoded|(x-)?yaml|xml)|[\w.+-]+\/[\w.+-]+\+(json|xml))\s*(;|$)/i;

type Match = { route: Route; pathParameters: Record<string, string> } | { allow: string[] };

/** Raw (still percent-encoded) parameters when `template` matches `pathname`, else undefined. */
function matchTemplate(template: string, pathname: string): Record<string, string> | undefined {
  const expected = template.split('/');
  const actual = pathname.split('/');
  const parameters: Record<string, string> = {};
  for (const [index, segment] of expected.entries()) {
    if (segment.startsWith('{') && segment.endsWith('+}')) {
      const rest = actual.slice(index).join('/');
      if (!rest) return undefined;
      parameters[segment.slice(1, -2)] = rest;
      return parameters;
    }
    const value = actual[index];
    if (segment.startsWith('{')) {
      if (!value) return undefined;
      parameters[segment.slice(1, -1)] = value;
    } else if (segment !== value) {
      return undefined;
    }
  }
  return expected.length === actual.length ? parameters : undefined;
}

/** Literal segments rank before {name}, which ranks before {name+}; the lowest rank wins. */
function segmentRanks(template: string): number[] {
  return template.split('/').map((segment) => (segment.endsWith('+}') ? 2 : segment.startsWith('{') ? 1 : 0));
}

function compareSpecificity(a: Route, b: Route): number {
  const ranksA = segmentRanks(a.path);
  const ranksB = segmentRanks(b.path);
  for (const [index, rank] of ranksA.entries()) {
    const difference = rank - (ranksB[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

function decodeParameters(raw: Record<string, string>, pathname: string): Record<string, string> {
  try {
    return Object.fromEntries(Object.entries(raw).map(([name, value]) => [name, decodeURIComponent(value)]));
  } catch {
    throw new HttpProblem(400, `The path ${pathname} contains a malformed percent-encoding`);
  }
}

/**
 * The most specific route for the method and path; `{ allow }` when the path exists for other
 * methods only; undefined when no route has this path. Throws a 400 HttpProblem for a malformed escape.
 */
export function matchRoute(routes: Route[], method: string, pathname: string): Match | undefined {
  const candidates = routes.flatMap((route) => {
    const raw = matchTemplate(route.path, pathname);
    return raw ? [{ route, raw }] : [];
  });
  if (candidates.length === 0) return undefined;
  const best = candidates
    .filter(({ route }) => route.method.toUpperCase() === method.toUpperCase())
    .sort((a, b) => compareSpecificity(a.route, b.route))[0];
  if (!best) return { allow: [...new Set(candidates.map(({ route }) => route.method.toUpperCase()))].sort() };
  return { route: best.route, pathParameters: decodeParameters(best.raw, pathname) };
}

function appendValue(values: Record<string, string>, name: string, value: string): void {
  values[name] = Object.hasOwn(values, name) ? `${values[name]},${value}` : value;
}

function clientAddress(req: IncomingMessage): string {
  return (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
}

/** API Gateway's request time format: 12/Mar/2020:19:03:58 +0000 */
function requestTime(date: Date): string {
  const [, day, month, year, clock] = date.toUTCString().split(' ');
  return `${day}/${month}/${year}:${clock} +0000`;
}

/** The event API Gateway HTTP API (payload format 2.0) would send for this request. */
export function buildEventV2(
  req: IncomingMessage,
  url: URL,
  body: Buffer,
  route: Route,
  pathParameters: Record<string, string>,
): APIGatewayProxyEventV2 {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let index = 0; index < req.rawHeaders.length; index += 2) {
    const name = req.rawHeaders[index]!.toLowerCase();
    const value = req.rawHeaders[index + 1]!;
    appendValue(headers, name, value);
    if (name === 'cookie') cookies.push(...value.split(';').map((cookie) => cookie.trim()).filter(Boolean));
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) appendValue(query, name, value);

  const method = req.method ?? 'GET';
  const routeKey = `${method} ${route.path}`;
  const now = new Date();
  const isBase64Encoded = body.length > 0 && !textualContentType.test(headers['content-type'] ?? '');
  return {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    ...(cookies.length > 0 && { cookies }),
    headers,
    ...(Object.keys(query).length > 0 && { queryStringParameters: query }),
    ...(Object.keys(pathParameters).length > 0 && { pathParameters }),
    requestContext: {
      accountId: 'offline',
      apiId: 'offline',
      domainName: url.host,
      domainPrefix: url.hostname.split('.')[0] ?? '',
      http: {
        method,
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: clientAddress(req),
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(body.length > 0 && { body: body.toString(isBase64Encoded ? 'base64' : 'utf8') }),
    isBase64Encoded,
  };
}

/** Writes a function's result as API Gateway would, including its reading of a bare string or object. */
export function writeResponse(res: ServerResponse, result: APIGatewayProxyResultV2): void {
  if (typeof result !== 'object' || result === null || result.statusCode === undefined) {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(typeof result === 'string' ? result : JSON.stringify(result ?? null));
    return;
  }
  const headers: OutgoingHttpHeaders = Object.fromEntries(
    Object.entries(result.headers ?? {}).map(([name, value]) => [name, String(value)]),
  );
  if (result.cookies?.length) headers['set-cookie'] = result.cookies;
  res.writeHead(result.statusCode, headers);
  res.end(result.body === undefined ? undefined : Buffer.from(result.body, result.isBase64Encoded ? 'base64' : 'utf8'));
}

export function lambdaContext(functionName: string, timeoutMs = defaultFunctionTimeoutMs): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = (): never => {
    throw new Error('callback-style context methods are not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:offline:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'offline',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

function tooLarge(limit: number): HttpProblem {
  // The unread rest of the body would be taken for the next request on this connection.
  return new HttpProblem(413, `The body is larger than ${limit} bytes`, { headers: { connection: 'close' } });
}

/** The whole body, or a 413 as soon as it is known to exceed `limit` bytes; never buffers more. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  if (Number(req.headers['content-length'] ?? 0) > limit) return Promise.reject(tooLarge(limit));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        req.off('data', onData).pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const namedInConnection = String(headers.connection ?? '').split(',').map((name) => name.trim().toLowerCase());
  return Object.fromEntries(
    Object.entries(headers).filter(([name]) => !hopByHopHeaders.has(name) && !namedInConnection.includes(name)),
  );
}

function forwardedHeaders(req: IncomingMessage, url: URL): OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers);
  delete headers.host;
  return {
    ...headers,
    'x-forwarded-for': [req.headers['x-forwarded-for'], clientAddress(req)].filter(Boolean).join(', '),
    'x-forwarded-proto': 'http',
    'x-forwarded-host': url.host,
  };
}

/** Streams the request to the route's upstream and its answer back; rejects with a 502 or 504 problem. */
function forward(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: ProxyRoute,
  agent: http.Agent,
  timeoutMs: number,
  bodyLimit: number,
): Promise<void> {
  const upstream = new URL(route.upstream);
  return new Promise((resolve, reject) => {
    let answered = false;
    const upstreamReq = http.request({
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: url.pathname + url.search,
      headers: forwardedHeaders(req, url),
      agent,
    });
    const fail = (status: number, detail: string): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      log.warn('http.upstream_failed', { route: route.name, upstream: route.upstream, status, detail });
      reject(new HttpProblem(status, detail, { headers: { connection: 'close' } }));
    };
    // A streamed body without a length: count it on the way, and refuse it here once it passes the
    // limit, before the service's own refusal reaches the proxy as a broken pipe.
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent <= bodyLimit || answered) return;
      req.unpipe(upstreamReq);
      upstreamReq.destroy();
      answered = true;
      clearTimeout(timer);
      reject(tooLarge(bodyLimit));
    });
    const timer = setTimeout(() => {
      fail(504, `${route.upstream} did not answer within ${timeoutMs} ms`);
      upstreamReq.destroy();
    }, timeoutMs);
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => fail(502, `${route.upstream} is unavailable (${error.code ?? error.message})`));
    upstreamReq.once('response', (upstreamRes) => {
      answered = true;
      clearTimeout(timer);
      res.writeHead(upstreamRes.statusCode ?? 502, withoutHopByHop(upstreamRes.headers));
      pipeline(upstreamRes, res).then(resolve, reject);
    });
    res.once('close', () => {
      if (res.writableFinished) return;
      answered = true;
      clearTimeout(timer);
      upstreamReq.destroy();
      resolve();
    });
    req.pipe(upstreamReq);
  });
}

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
