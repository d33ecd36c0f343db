// API Gateway's side of a function call, as Middy's ecs-http does it: a node:http request becomes the
// HTTP API (payload format 2.0) event, a function's result becomes the response, and a body is read
// whole only up to the limit.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2 } from 'aws-lambda';
import { HttpProblem } from '../../functions/lib/problem.js';
import type { Route } from './routes.js';

const textualContentType = /^(text\/[\w.+-]+|application\/(json|x-www-form-urlencoded|(x-)?yaml|xml)|[\w.+-]+\/[\w.+-]+\+(json|xml))\s*(;|$)/i;

function appendValue(values: Record<string, string>, name: string, value: string): void {
  values[name] = Object.hasOwn(values, name) ? `${values[name]},${value}` : value;
}

export function clientAddress(req: IncomingMessage): string {
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

export function tooLarge(limit: number): HttpProblem {
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

