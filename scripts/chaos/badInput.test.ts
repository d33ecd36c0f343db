import { describe, expect, it } from 'vitest';
import { manifest } from '../../infra/manifest.js';
import { bodyLimitBytes } from '../../functions/lib/config.js';
import { badRequests, type BadRequest, type Route } from './badInput.js';
import { encode } from './badValues.js';
import { mightBeValid } from './validity.js';

const routes: Route[] = manifest.flatMap((fn) => fn.http);
const requests = badRequests(routes, 3_000, 42);

const where = (route: string) => requests.filter((r) => r.route === route);

describe('badRequests', () => {
  it('gives the same requests for the same seed, and others for another', () => {
    expect(badRequests(routes, 50, 42)).toEqual(requests.slice(0, 50));
    expect(badRequests(routes, 50, 43)).not.toEqual(requests.slice(0, 50));
  });

  it('covers every route of serverless.yml', () => {
    expect(requests).toHaveLength(3_000);
    for (const route of routes) expect(where(`${route.method} ${route.path}`).length, `${route.method} ${route.path}`).toBeGreaterThan(20);
  });

  it('makes each kind of bad input for the routes that take a body', () => {
    for (const route of ['POST /api/purchase', 'POST /api/wallet/create', 'POST /api/wallet/{user_id}/deposit']) {
      const categories = new Set(where(route).map((r) => r.category));
      for (const category of ['wrong type', 'missing field', 'extra field', 'huge number', 'invalid value', 'not an object', 'bad json', 'wrong content type', 'too large', 'bad key', 'wrong method']) {
        expect(categories, `${route}: ${category}`).toContain(category);
      }
    }
    expect(where('POST /api/purchase').some((r) => r.category === 'long string')).toBe(true);
    expect(where('POST /api/wallet/{user_id}/deposit').some((r) => r.category === 'bad path')).toBe(true);
    expect(where('GET /api/purchases').some((r) => r.category === 'bad query')).toBe(true);
    expect(where('GET /api/purchase/{purchase_id}').some((r) => r.category === 'bad path')).toBe(true);
  });

  it('sends nothing that a correct service could accept on a route that changes state', () => {
    const changing = requests.filter((r) => r.method !== 'GET');
    expect(changing.length).toBeGreaterThan(1_500);
    for (const request of changing) expect(mightBeValid(request, routes), JSON.stringify(request).slice(0, 300)).toBe(false);
  });

  it('includes bodies over the limit, huge numbers beyond what JavaScript keeps, and strings over their maximum', () => {
    expect(requests.some((r) => r.category === 'too large' && Buffer.byteLength(r.body!) > bodyLimitBytes)).toBe(true);
    expect(requests.some((r) => r.body?.includes('1e400'))).toBe(true);
    expect(requests.some((r) => r.category === 'long string' && r.body!.length > 10_000)).toBe(true);
  });
});

describe('mightBeValid', () => {
  const request = (overrides: Partial<BadRequest>): BadRequest => ({
    route: 'POST /api/purchase',
    category: 'wrong type',
    method: 'POST',
    url: '/api/purchase',
    headers: { 'content-type': 'application/json' },
    body: '{"user_id": 1, "amount": 12.5, "description": "socks"}',
    ...overrides,
  });

  it('knows a good request for one, however it is dressed', () => {
    expect(mightBeValid(request({}), routes)).toBe(true);
    expect(mightBeValid(request({ headers: { 'content-type': 'application/json; charset=utf-8', 'idempotency-key': 'k-1' } }), routes)).toBe(true);
    expect(mightBeValid(request({ body: '{"user_id": 1, "amount": 0.29, "description": "x"}' }), routes)).toBe(true);
    expect(mightBeValid(request({ url: '/api/wallet/7/deposit', body: '{"amount": 1}' }), routes)).toBe(true);
  });

  it('refuses what breaks the schema, the content type, the size, the key or the path', () => {
    expect(mightBeValid(request({ body: '{"user_id": "1", "amount": 12.5, "description": "socks"}' }), routes)).toBe(false);
    expect(mightBeValid(request({ body: '{"user_id": 1, "amount": 12.345, "description": "socks"}' }), routes)).toBe(false);
    expect(mightBeValid(request({ body: '{"user_id": 1, "amount": 1e400, "description": "socks"}' }), routes)).toBe(false);
    expect(mightBeValid(request({ headers: { 'content-type': 'text/plain' } }), routes)).toBe(false);
    expect(mightBeValid(request({ headers: { 'content-type': 'application/json', 'idempotency-key': 'caf\u00e9' } }), routes)).toBe(false);
    expect(mightBeValid(request({ url: '/api/wallet/01/deposit', body: '{"amount": 1}' }), routes)).toBe(false);
    expect(mightBeValid(request({ url: '/api/wallet/%zz/deposit', body: '{"amount": 1}' }), routes)).toBe(false);
    expect(mightBeValid(request({ method: 'PUT' }), routes)).toBe(false);
  });
});

describe('encode', () => {
  it('writes JSON with numbers that JavaScript cannot hold written as they are', () => {
    const [huge] = badRequests(routes, 3_000, 42).filter((r) => r.body?.includes('1e400'));
    expect(() => JSON.parse(huge!.body!)).not.toThrow();
    expect(encode({ a: [1, 'x'] })).toBe('{"a":[1,"x"]}');
  });
});
