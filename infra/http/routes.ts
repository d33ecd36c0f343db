// The route table of an HTTP host, a local stand-in for API Gateway's: a route is answered by a
// function (with the payload 2.0 event), by the service that owns it (a proxy), or by the host itself
// with a stream; the most specific template wins.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, Context } from 'aws-lambda';
import { HttpProblem } from '../../functions/lib/problem.js';

export type HttpFunction = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2>;

/** `path` is an API Gateway template such as /api/wallet/{user_id}/deposit */
export interface LocalRoute { method: string; path: string; name: string; handler: HttpFunction }
/** `upstream` is the base URL of the service that owns the route, e.g. http://127.0.0.1:8001 */
export interface ProxyRoute { method: string; path: string; name: string; upstream: string }
/** Answered by the host itself with a long-lived response (Server-Sent Events): no event, no upstream, no timeout */
export interface StreamRoute { method: string; path: string; name: string; stream(req: IncomingMessage, res: ServerResponse, url: URL): void }
export type Route = LocalRoute | ProxyRoute | StreamRoute;

type Match = { route: Route; pathParameters: Record<string, string> } | { allow: string[] };

// Each template is split once: every request is matched against every route.
const segmentsOf = new Map<string, string[]>();

/** Raw (still percent-encoded) parameters when `template` matches `pathname`, else undefined. */
function matchTemplate(template: string, actual: string[]): Record<string, string> | undefined {
  let expected = segmentsOf.get(template);
  if (!expected) segmentsOf.set(template, (expected = template.split('/')));
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
  const actual = pathname.split('/');
  const candidates = routes.flatMap((route) => {
    const raw = matchTemplate(route.path, actual);
    return raw ? [{ route, raw }] : [];
  });
  if (candidates.length === 0) return undefined;
  const best = candidates
    .filter(({ route }) => route.method.toUpperCase() === method.toUpperCase())
    .sort((a, b) => compareSpecificity(a.route, b.route))[0];
  if (!best) return { allow: [...new Set(candidates.map(({ route }) => route.method.toUpperCase()))].sort() };
  return { route: best.route, pathParameters: decodeParameters(best.raw, pathname) };
}

