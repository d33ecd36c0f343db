// The bad-input phase: requests generated with fast-check from openapi.yaml's schemas, every one of
// them wrong in at least one way (a wrong type, a missing or extra field, a huge number, a long
// string, broken JSON, a wrong content type, a body over 64 KiB, a bad path or query parameter, a
// bad Idempotency-Key, a wrong method), sent to every route of serverless.yml through the gateway.
// None may get a 5xx, and none may change anything.
import fc from 'fast-check';
import { bodyLimitBytes } from '../../functions/lib/config.js';
import { resolve as resolveRef, spec as document, validatorOf } from '../../functions/lib/contract.js';

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

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Schema {
  $ref?: string;
  type?: string | string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: Json[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
}

interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}

interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

// The document as the few shapes this generator reads.
const spec = document as unknown as { paths: Record<string, Record<string, Operation>> };

const maxSafe = Number.MAX_SAFE_INTEGER;

function resolve<T extends { $ref?: string }>(node: T): T {
  return resolveRef<T>(node)!;
}

function deepResolve(schema: Schema): Schema {
  const s = resolve(schema);
  return s.properties ? { ...s, properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, deepResolve(v)])) } : s;
}

// ---- Validity, judged by the contract's own validator -------------------------------------------

function check(schema: Schema, value: unknown): boolean {
  return validatorOf(schema)(value);
}

const jsonMedia = /^application\/(.+\+)?json($|;.+)/i;
const keyPattern = /^[\x20-\x7e]{1,255}$/;

/** A path or query value as the services read it: integers strictly, everything else by its schema. */
function paramIsValid(schema: Schema, raw: string): boolean {
  const s = resolve(schema);
  if (s.type === 'integer') return /^(0|[1-9]\d*)$/.test(raw) && check(s, Number(raw));
  return check(s, raw);
}

/** True when the request could be accepted by a correct service; such a request is not sent. */
export function mightBeValid(request: BadRequest, routes: readonly Route[]): boolean {
  const route = routes.find((r) => r.method === request.method && matches(r.path, request.url));
  if (!route) return false;
  if (request.method === 'GET' || request.method === 'HEAD') return true;
  const key = request.headers['idempotency-key'];
  if (key !== undefined && !keyPattern.test(key)) return false;
  const op = spec.paths[route.path]?.[route.method.toLowerCase()];
  if (!op) return true;
  const values = pathValues(route.path, request.url);
  for (const p of (op.parameters ?? []).map(resolve)) {
    if (p.in === 'path' && !paramIsValid(p.schema ?? {}, values[p.name] ?? '')) return false;
  }
  const schema = op.requestBody?.content['application/json']?.schema;
  if (!schema) return true;
  if (!jsonMedia.test(request.headers['content-type'] ?? '')) return false;
  if (Buffer.byteLength(request.body ?? '') > bodyLimitBytes) return false;
  let body: unknown;
  try {
    body = JSON.parse(request.body ?? '');
  } catch {
    return false;
  }
  return check(schema, body);
}

function templateOf(path: string): RegExp {
  return new RegExp(`^${path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '([^/?]*)')}(\\?.*)?$`);
}

function matches(path: string, url: string): boolean {
  return templateOf(path).test(url);
}

function pathValues(path: string, url: string): Record<string, string> {
  const names = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]!);
  const found = templateOf(path).exec(url) ?? [];
  return Object.fromEntries(names.map((name, i) => [name, safeDecode(found[i + 1] ?? '')]));
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

// ---- Values ---------------------------------------------------------------------------------

/** A number written as JSON text that JavaScript cannot round-trip (1e400, 2^53 + 1). */
class RawNumber {
  constructor(readonly text: string) {}
}
type Value = Json | RawNumber | Value[] | { [key: string]: Value };

/** JSON text of a value, raw numbers written as they are. */
export function encode(value: Value): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawNumber) {
      raws.push(v.text);
      return `@@raw${raws.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@raw(\d+)@@"/g, (_, i: string) => raws[Number(i)]!);
}

const printable = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 });
const anyJson = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
const controlCharacter = fc.constantFrom('\u0000', '\n', '\t', '\r', '\u001b', '\u007f', '\u001f');

function validValue(schema: Schema): fc.Arbitrary<Value> {
  const s = resolve(schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'integer':
      return fc.oneof(fc.integer({ min: Math.max(1, s.minimum ?? 1), max: 1000 }), fc.integer({ min: 1, max: Math.min(s.maximum ?? maxSafe, maxSafe) }));
    case 'number':
      return fc.integer({ min: 1, max: Math.round((s.maximum ?? 1e9) * 100) }).map((cents) => cents / 100);
    case 'string':
      return fc.string({ unit: 'grapheme-ascii', minLength: Math.max(1, s.minLength ?? 0), maxLength: Math.min(s.maxLength ?? 30, 30) });
    case 'object':
      return fc.record(Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, validValue(v)])) as Record<string, fc.Arbitrary<Value>>);
    default:
      return anyJson;
  }
}

/** Values of another JSON type than the schema's, among them the coercible ones ("5", true, null). */
function wrongType(schema: Schema): fc.Arbitrary<Value> {
  const type = resolve(schema).type;
  const numeric = type === 'integer' || type === 'number';
  return fc.oneof(
    numeric ? fc.oneof(fc.constantFrom('5', '1.5', '', '0x10', '1e3', ' 1', 'NaN'), printable) : fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    fc.boolean(),
    fc.constant(null),
    fc.array(anyJson, { maxLength: 3 }),
    fc.dictionary(printable, anyJson, { maxKeys: 3 }),
  );
}

/** Values of the schema's type that break one of its bounds, labelled by what they break. */
function outOfBounds(schema: Schema): fc.Arbitrary<[Category, Value]> | undefined {
  const s = resolve(schema);
  const huge = fc.constantFrom<Value>(1e21, 1.7976931348623157e308, -1e21, new RawNumber('1e400'), new RawNumber('-1e400'), new RawNumber(`1${'0'.repeat(400)}`));
  if (s.type === 'integer') {
    return fc.oneof(
      fc.tuple(fc.constant<Category>('huge number'), fc.oneof(huge, fc.constantFrom<Value>(maxSafe + 1, new RawNumber('9007199254740993'), 2 ** 64)).filter((v) => !(typeof v === 'number' && check(s, v)))),
      fc.tuple(fc.constant<Category>('invalid value'), fc.oneof(fc.integer({ min: -1000, max: (s.minimum ?? 1) - 1 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((v) => !Number.isInteger(v)))),
    );
  }
  if (s.type === 'number') {
    return fc.oneof(
      fc.tuple(fc.constant<Category>('huge number'), fc.oneof(huge, fc.constantFrom<Value>(1_000_000_000.01, 1e10, 2 ** 53))),
      fc.tuple(
        fc.constant<Category>('invalid value'),
        fc.oneof(
          fc.constantFrom<Value>(0, -0, -0.01, -1, 0.001, 1e-7, 5e-324, 0.005, 12.345),
          fc.integer({ min: -100_000, max: 0 }).map((c) => c / 100),
          fc.integer({ min: 1, max: 1_000_000 }).map((m) => m / 1000).filter((v) => !check(s, v)),
        ),
      ),
    );
  }
  if (s.type === 'string') {
    const options: fc.Arbitrary<[Category, Value]>[] = [
      fc.tuple(fc.constant<Category>('invalid value'), fc.tuple(fc.string({ maxLength: 10 }), controlCharacter, fc.string({ maxLength: 10 })).map((p) => p.join(''))),
    ];
    if ((s.minLength ?? 0) > 0) options.push(fc.tuple(fc.constant<Category>('invalid value'), fc.constant('')));
    if (s.maxLength !== undefined) {
      const long = fc.integer({ min: s.maxLength + 1, max: 60_000 }).map((n) => 'x'.repeat(n));
      const longUnicode = fc.string({ unit: 'grapheme', minLength: s.maxLength + 1, maxLength: s.maxLength + 300 });
      options.push(fc.tuple(fc.constant<Category>('long string'), fc.oneof(long, longUnicode)), fc.tuple(fc.constant<Category>('long string'), long));
    }
    if (s.enum) options.push(fc.tuple(fc.constant<Category>('invalid value'), printable.filter((v) => !s.enum!.includes(v))));
    return fc.oneof(...options);
  }
  return undefined;
}

/** Bodies for an object schema, each wrong in one labelled way. */
function badBodies(schema: Schema): fc.Arbitrary<[Category, Value]> {
  const s = deepResolve(schema);
  const properties = s.properties ?? {};
  const valid = validValue(s) as fc.Arbitrary<Record<string, Value>>;
  const required = s.required ?? [];
  const options: fc.Arbitrary<[Category, Value]>[] = [
    fc.tuple(fc.constant<Category>('not an object'), fc.oneof(fc.array(anyJson, { maxLength: 3 }), printable, fc.integer(), fc.constant(null), fc.boolean())),
    fc.tuple(
      fc.constant<Category>('extra field'),
      fc.tuple(valid, printable.filter((k) => !(k in properties) && k !== '__proto__'), anyJson).map(([body, key, value]) => ({ ...body, [key]: value })),
    ),
  ];
  if (required.length) {
    options.push(
      fc.tuple(
        fc.constant<Category>('missing field'),
        fc.tuple(valid, fc.subarray(required, { minLength: 1 })).map(([body, missing]) => Object.fromEntries(Object.entries(body).filter(([k]) => !missing.includes(k)))),
      ),
    );
  }
  for (const [name, property] of Object.entries(properties)) {
    options.push(fc.tuple(fc.constant<Category>('wrong type'), fc.tuple(valid, wrongType(property)).map(([body, v]) => ({ ...body, [name]: v }))));
    const bounds = outOfBounds(property);
    if (bounds) options.push(fc.tuple(valid, bounds).map(([body, [category, v]]) => [category, { ...body, [name]: v }] as [Category, Value]));
  }
  return fc.oneof(...options);
}

// ---- Requests -------------------------------------------------------------------------------

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
