// Which generated requests a correct service could accept: those are not sent, for a valid request
// would change the state that the bad-input phase must leave as it is.
import { bodyLimitBytes } from '../../functions/lib/config.js';
import type { BadRequest, Route } from './badInput.js';
import { check, resolve, spec, type Schema } from './schemas.js';

const jsonMedia = /^application\/(.+\+)?json($|;.+)/i;
const keyPattern = /^[\x20-\x7e]{1,255}$/;

/** A path or query value as the services read it: integers strictly, everything else by its schema. */
export function paramIsValid(schema: Schema, raw: string): boolean {
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
