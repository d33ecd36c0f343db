// The bad-input phase: requests generated with fast-check from openapi.yaml's schemas, every one of
// them wrong in at least one way (a wrong type, a missing or extra field, a huge number, a long
// string, broken JSON, a wrong content type, a body over 64 KiB, a bad path or query parameter, a
// bad Idempotency-Key, a wrong method), sent to every route of serverless.yml through the gateway.
// None may get a 5xx, and none may change anything.
import fc from 'fast-check';
import { bodyLimitBytes } from '../../functions/lib/config.js';
import { badBodies, encode, printable, validValue } from './badValues.js';
import { resolve, spec, type Operation, type Schema } from './schemas.js';
import { mightBeValid, paramIsValid } from './validity.js';

export type Category =
  | 'wrong type'
  | 'missing field'
  | 'extra field'
  | 'huge number'
  | 'long string'
  | 'invalid value'
  | 'not an object'
  | 'bad json'
  | 'wrong content type'
  | 'too large'
  | 'bad path'
  | 'bad query'
  | 'bad key'
  | 'wrong method';

export interface Route {
  method: string;
  path: string;
}

export interface BadRequest {
  /** The route it was generated for: "POST /api/wallet/{user_id}/deposit" */
  route: string;
  category: Category;
  method: string;
  /** Path and query, ready to append to the gateway's URL */
  url: string;
  headers: Record<string, string>;
  body?: string;
}

const badJson = fc.oneof(
  fc.constantFrom('{', '{"user_id": 1', '{"amount": 1,}', "{'amount': 1}", 'undefined', 'NaN', '{"amount": 01}', '{"amount": .5}', '[1, 2', '"unterminated', '{"a":1}{"b":2}', '\u0000', ''),
  fc.string({ maxLength: 50 }).filter((t) => {
    try {
      JSON.parse(t);
      return false;
    } catch {
      return true;
    }
  }),
);

const wrongContentType = fc.constantFrom(
  'text/plain',
  'text/html',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=chaos',
  'application/octet-stream',
  'image/png',
  'json',
);

const badKey = fc.oneof(fc.constant('k'.repeat(256)), fc.constantFrom('caf\u00e9', 'tab\there', '\u00ff'), fc.integer({ min: 256, max: 2_000 }).map((n) => 'x'.repeat(n)));

/** Path values a strict parser must refuse; some are sent raw, to test percent-decoding. */
const rawPathValues = ['%', '%zz', '%00', '%2e%2e', '%ff%fe', '..', '.'];
function badPathValue(schema: Schema): fc.Arbitrary<{ text: string; raw: boolean }> {
  const s = resolve(schema);
  const typed =
    s.type === 'integer'
      ? fc.constantFrom('0', '-1', '1.5', '01', '1e3', '0x1F', '9007199254740992', '99999999999999999999', ' 1', '1 ', '+1', 'null', 'true', '[1]')
      : s.format === 'uuid'
        ? fc.constantFrom('not-a-uuid', '00000000-0000-0000-0000-00000000000g', '0'.repeat(36), '{00000000-0000-0000-0000-000000000000}', 'null')
        : fc.constantFrom('../../package.json', '..%2f..%2fpackage.json', '.env', '/etc/passwd', 'x'.repeat(300));
  return fc.oneof(
    typed.map((text) => ({ text, raw: false })),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).map((text) => ({ text, raw: false })),
    fc.integer({ min: 1_000, max: 8_000 }).map((n) => ({ text: 'x'.repeat(n), raw: false })),
    fc.constantFrom(...rawPathValues).map((text) => ({ text, raw: true })),
  );
}

function fill(path: string, values: Record<string, { text: string; raw: boolean }>): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const v = values[name]!;
    return v.raw ? v.text : encodeURIComponent(v.text);
  });
}

const validPathValue = (schema: Schema, existingUser: number): fc.Arbitrary<{ text: string; raw: boolean }> => {
  const s = resolve(schema);
  const text = s.type === 'integer' ? fc.constant(String(existingUser)) : s.format === 'uuid' ? fc.uuid() : fc.constantFrom('swagger-ui.css', 'index.js');
  return text.map((t) => ({ text: t, raw: false }));
};

function badQuery(op: Operation | undefined): fc.Arbitrary<string> {
  const declared = (op?.parameters ?? []).map(resolve).filter((p) => p.in === 'query');
  const junk = fc.constantFrom('?limit=%zz', '?&&&', '?limit=1&limit=2', '?status=new', '?user_id=-1', '?cursor=!!', '?limit=', '?%00=1', `?q=${'x'.repeat(5_000)}`);
  const unknown = fc.tuple(printable, printable).map(([k, v]) => `?${new URLSearchParams({ [`x_${k}`]: v })}`);
  if (!declared.length) return fc.oneof(junk, unknown);
  const oneBad = fc.constantFrom(...declared).chain((p) => {
    const s = resolve(p.schema ?? {});
    const values =
      s.type === 'integer'
        ? fc.constantFrom('0', '101', '-5', '1.5', 'abc', '1e2', '9007199254740992', '')
        : s.enum
          ? fc.constantFrom('new', 'PAID', 'FINISHED,NEW', 'x'.repeat(100))
          : fc.constantFrom('!!', '../', 'x'.repeat(201), '\u00e9t\u00e9');
    return values.map((v) => `?${new URLSearchParams({ [p.name]: v })}`);
  });
  return fc.oneof(oneBad, junk, unknown);
}

function routeRequests(route: Route, existingUser: number): fc.Arbitrary<BadRequest> {
  const op = spec.paths[route.path]?.[route.method.toLowerCase()];
  const parameters = (op?.parameters ?? []).map(resolve);
  const pathParams = parameters.filter((p) => p.in === 'path');
  const names = [...route.path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const schemaOf = (name: string): Schema => pathParams.find((p) => p.name === name)?.schema ?? { type: 'string' };
  const validPath = fc.record(Object.fromEntries(names.map((n) => [n, validPathValue(schemaOf(n), existingUser)]))).map((v) => fill(route.path, v));
  const routeName = `${route.method} ${route.path}`;
  const make = (category: Category, url: string, headers: Record<string, string> = {}, body?: string): BadRequest =>
    body === undefined ? { route: routeName, category, method: route.method, url, headers } : { route: routeName, category, method: route.method, url, headers, body };

  const otherMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => m !== route.method);
  const options: fc.WeightedArbitrary<BadRequest>[] = [
    { weight: 1, arbitrary: fc.tuple(validPath, fc.constantFrom(...otherMethods)).map(([url, method]) => ({ ...make('wrong method', url), method })) },
  ];
  if (names.length) {
    const badPath = fc
      .tuple(...names.map((n) => fc.tuple(fc.constant(n), fc.oneof(badPathValue(schemaOf(n)), validPathValue(schemaOf(n), existingUser)))))
      .map((pairs) => Object.fromEntries(pairs))
      // A GET changes nothing whatever its path; elsewhere the path must be wrong for sure.
      .filter((values) => route.method === 'GET' || names.some((n) => !paramIsValid(schemaOf(n), values[n]!.text)))
      .map((values) => fill(route.path, values));
    options.push({
      weight: 2,
      arbitrary:
        route.method === 'GET'
          ? badPath.map((url) => make('bad path', url))
          : fc.tuple(badPath, validValue(op?.requestBody?.content['application/json']?.schema ?? {})).map(([url, body]) => make('bad path', url, { 'content-type': 'application/json' }, encode(body))),
    });
  }
  if (route.method === 'GET') options.push({ weight: 2, arbitrary: fc.tuple(validPath, badQuery(op)).map(([url, query]) => make('bad query', url + query)) });

  const bodySchema = op?.requestBody?.content['application/json']?.schema;
  if (bodySchema) {
    const json = { 'content-type': 'application/json' };
    const validBody = validValue(bodySchema);
    // Some bad requests carry a well-formed key: a refused request must not be stored under it.
    const withKey = (headers: Record<string, string>) =>
      fc.option(fc.uuid(), { freq: 2 }).map((key) => (key === null ? headers : { ...headers, 'idempotency-key': `chaos-${key}` }));
    // Mostly bodies that break the schema; the rest split between the other ways to be wrong.
    options.push(
      { weight: 10, arbitrary: fc.tuple(validPath, badBodies(bodySchema), withKey(json)).map(([url, [category, body], headers]) => make(category, url, headers, encode(body))) },
      { weight: 2, arbitrary: fc.tuple(validPath, badJson, withKey(json)).map(([url, body, headers]) => make('bad json', url, headers, body)) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(validPath, wrongContentType, fc.oneof(validBody.map(encode), badJson), fc.boolean())
          .map(([url, type, body, typed]) => make('wrong content type', url, typed ? { 'content-type': type } : {}, body)),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(validPath, validBody, fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 4_096 }) }, fc.integer({ min: 1, max: bodyLimitBytes * 2 })))
          .map(([url, body, over]) => make('too large', url, json, `${encode(body).slice(0, -1)},"padding":"${'x'.repeat(bodyLimitBytes + over)}"}`)),
      },
      { weight: 1, arbitrary: fc.tuple(validPath, validBody, badKey).map(([url, body, key]) => make('bad key', url, { ...json, 'idempotency-key': key }, encode(body))) },
    );
  }
  return fc.oneof(...options);
}

/**
 * `count` bad requests for the routes, the same ones for the same seed. Requests that a correct
 * service might accept are left out and replaced, so that none of them may change anything.
 */
export function badRequests(routes: readonly Route[], count: number, seed: number, existingUser = 1): BadRequest[] {
  // The routes that change something get more of the requests.
  const weighted = routes.map((route) => ({ arbitrary: routeRequests(route, existingUser), weight: route.method === 'GET' ? 1 : 4 }));
  const arbitrary = fc.oneof(...weighted).filter((request) => request.method === 'GET' || !mightBeValid(request, routes));
  return fc.sample(arbitrary, { seed, numRuns: count });
}

export interface BadInputReport {
  tried: number;
  byCategory: Record<string, number>;
  byRoute: Record<string, number>;
  byStatus: Record<string, number>;
  serverErrors: number;
  /** Requests that got no HTTP answer at all (the connection was closed) */
  noAnswer: number;
  /** Requests that changed something and were answered 2xx: each a bad input taken for a good one */
  accepted: number;
  /** A few of the requests that got a 5xx, no answer, or a 2xx on a route that changes state */
  examples: { route: string; category: Category; method: string; url: string; status: number | 'no answer'; body?: string }[];
}

function excerpt(text: string | undefined, length = 200): string | undefined {
  return text === undefined || text.length <= length ? text : `${text.slice(0, length)}... (${text.length} characters)`;
}

/** Sends the requests, `concurrency` at a time, and counts the answers. */
export async function sendBadRequests(baseUrl: string, requests: readonly BadRequest[], concurrency = 16): Promise<BadInputReport> {
  const report: BadInputReport = { tried: 0, byCategory: {}, byRoute: {}, byStatus: {}, serverErrors: 0, noAnswer: 0, accepted: 0, examples: [] };
  const bump = (counts: Record<string, number>, key: string) => (counts[key] = (counts[key] ?? 0) + 1);
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      let status: number | 'no answer';
      try {
        const response = await fetch(baseUrl + request.url, {
          method: request.method,
          headers: request.headers,
          body: request.body,
          signal: AbortSignal.timeout(15_000),
        });
        await response.arrayBuffer();
        status = response.status;
      } catch {
        status = 'no answer';
      }
      report.tried += 1;
      bump(report.byCategory, request.category);
      bump(report.byRoute, request.route);
      bump(report.byStatus, String(status));
      const changes = request.method !== 'GET' && typeof status === 'number' && status < 300;
      if (status === 'no answer') report.noAnswer += 1;
      else if (status >= 500) report.serverErrors += 1;
      if (changes) report.accepted += 1;
      if ((status === 'no answer' || status >= 500 || changes) && report.examples.length < 10) {
        report.examples.push({ route: request.route, category: request.category, method: request.method, url: excerpt(request.url)!, status, body: excerpt(request.body) });
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return report;
}
