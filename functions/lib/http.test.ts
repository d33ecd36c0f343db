import { afterEach, describe, expect, it, vi } from 'vitest';
import { callHttp, httpEvent, type HttpResult } from '../../test/support/lambda.js';
import { created, httpHandler, ok, type HttpRequest } from './http.js';
import type { OperationId } from './contract.js';
import { DatabaseUnavailable, type Db } from './db.js';
import { Money } from './money.js';
import { HttpProblem, type FieldError, type ProblemBody } from './problem.js';
import { bodyLimitBytes, loadConfig } from './config.js';

// These handlers never reach a database (no Idempotency-Key is sent); a function, so echoed bodies leave it out.
const noDb = (() => {
  throw new Error('no database in these tests');
}) as unknown as Db;
const options = { db: noDb, config: loadConfig('payments', {}) };

/** Each handler answers with what it was given, so a test sees exactly what validation let through. */
const echo = (operationId: OperationId) => httpHandler(operationId, async (request) => ok(request), options);
const handlers = {
  createWallet: echo('createWallet'),
  deposit: echo('deposit'),
  createPurchase: echo('createPurchase'),
  listPurchases: echo('listPurchases'),
  getPurchase: echo('getPurchase'),
};

const createWallet = (json: unknown) => callHttp(handlers.createWallet, httpEvent('POST', '/api/wallet/create', { body: json }));
const deposit = (json: unknown, userId = '42') =>
  callHttp(handlers.deposit, httpEvent('POST', `/api/wallet/${userId}/deposit`, { body: json, path: { user_id: userId } }));
const createPurchase = (json: unknown) => callHttp(handlers.createPurchase, httpEvent('POST', '/api/purchase', { body: json }));
const listPurchases = (query?: Record<string, string>) =>
  callHttp(handlers.listPurchases, httpEvent('GET', '/api/purchases', { query }));
const getWallet = (userId: string) =>
  callHttp(echo('getWallet'), httpEvent('GET', `/api/wallet/${userId}`, { path: { user_id: userId } }));

/** The echoed request of a 2xx answer. */
function accepted(result: HttpResult): HttpRequest<OperationId> {
  expect(result.statusCode, result.body).toBe(200);
  return JSON.parse(result.body ?? '') as HttpRequest<OperationId>;
}

/** The problem of an error answer, checked to be a well-formed application/problem+json. */
function problem(result: HttpResult, status: number): ProblemBody {
  expect(result.statusCode, result.body).toBe(status);
  expect(result.headers?.['content-type']).toBe('application/problem+json');
  const body = JSON.parse(result.body ?? '') as ProblemBody;
  expect(body).toMatchObject({ type: expect.any(String), title: expect.any(String), status, detail: expect.any(String) });
  expect(body.title).not.toBe('');
  expect(body.detail).not.toBe('');
  expect(result.body).not.toMatch(/\bat .*\.(ts|js):\d+|stack/i);
  return body;
}

function invalid(result: HttpResult): FieldError[] {
  const body = problem(result, 400);
  expect(body.type).toBe('/problems/validation');
  expect(body.errors?.length).toBeGreaterThan(0);
  return body.errors!;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('body types are strict, nothing is coerced', () => {
  it.each([
    ['a string', '5'],
    ['a boolean', true],
    ['null', null],
    ['an array', [5]],
    ['an object', { value: 5 }],
  ])('refuses %s as an amount', async (_, amount) => {
    const errors = invalid(await deposit({ amount }));
    expect(errors).toContainEqual({ in: 'body', name: '/amount', detail: 'must be number' });
  });

  it.each([
    ['a fraction', 1.5],
    ['a string', '7'],
    ['zero', 0],
    ['a negative number', -1],
    ['2^53, past the safe integers', 2 ** 53],
    ['a boolean', true],
    ['null', null],
  ])('refuses %s as a user id', async (_, user_id) => {
    const errors = invalid(await createWallet({ user_id }));
    expect(errors.map((e) => [e.in, e.name])).toEqual([['body', '/user_id']]);
  });

  it('passes a valid user id through as the number it is', async () => {
    expect(accepted(await createWallet({ user_id: 42 })).body).toEqual({ user_id: 42 });
    expect(accepted(await createWallet({ user_id: 2 ** 53 - 1 })).body).toEqual({ user_id: 2 ** 53 - 1 });
  });

  it('refuses a body that is not an object', async () => {
    for (const json of [null, [], 'user_id', 42]) {
      const errors = invalid(await createWallet(json));
      expect(errors[0], JSON.stringify(json)).toMatchObject({ in: 'body', name: '/' });
    }
  });
});

describe('amounts', () => {
  it.each([0.001, 1.005, 0.125, 10.999])('refuses %s: more than two decimals', async (amount) => {
    const errors = invalid(await deposit({ amount }));
    expect(errors).toEqual([{ in: 'body', name: '/amount', detail: 'must have at most 2 decimal places' }]);
  });

  it.each([0, -1, -0.01, 1_000_000_000.01, 2_000_000_000, 1e300])('refuses %s: not positive or over 1000000000', async (amount) => {
    const errors = invalid(await deposit({ amount }));
    expect(errors.map((e) => [e.in, e.name])).toContainEqual(['body', '/amount']);
  });

  it.each([0.01, 0.1, 0.29, 12.5, 999_999_999.99, 1_000_000_000])('accepts %s unchanged', async (amount) => {
    expect(accepted(await deposit({ amount })).body).toEqual({ amount });
  });

  it('validates the amount of a purchase by the same rule', async () => {
    const base = { user_id: 1, description: 'socks' };
    expect(invalid(await createPurchase({ ...base, amount: 0.291 }))[0]).toMatchObject({ name: '/amount' });
    expect(invalid(await createPurchase({ ...base, amount: '0.29' }))[0]).toMatchObject({ name: '/amount' });
    expect(accepted(await createPurchase({ ...base, amount: 0.29 })).body).toEqual({ ...base, amount: 0.29 });
  });
});

describe('unknown and missing fields', () => {
  it('refuses an unknown field and names it', async () => {
    const errors = invalid(await deposit({ amount: 5, currency: 'EUR' }));
    expect(errors).toEqual([{ in: 'body', name: '/currency', detail: 'is not a known field' }]);
  });

  it('refuses a missing field and names it', async () => {
    expect(invalid(await deposit({}))).toEqual([{ in: 'body', name: '/amount', detail: 'is required' }]);
  });

  it('names every offending field at once', async () => {
    const errors = invalid(await createPurchase({ user_id: '1', amount: 5, colour: 'red' }));
    expect(errors).toEqual(
      expect.arrayContaining([
        { in: 'body', name: '/description', detail: 'is required' },
        { in: 'body', name: '/colour', detail: 'is not a known field' },
        expect.objectContaining({ in: 'body', name: '/user_id' }),
      ]),
    );
    const detail = problem(await createPurchase({ user_id: '1', amount: 5, colour: 'red' }), 400).detail;
    expect(detail).toContain('/description');
    expect(detail).toContain('/colour');
  });
});

describe('description', () => {
  const purchase = (description: unknown) => createPurchase({ user_id: 1, amount: 1, description });

  it.each([
    ['a NUL', 'a\u0000b'],
    ['a newline', 'two\nlines'],
    ['a tab', 'a\tb'],
    ['an escape', '\u001b[31mred'],
    ['a DEL', 'a\u007fb'],
  ])('refuses one with %s', async (_, description) => {
    expect(invalid(await purchase(description))).toEqual([expect.objectContaining({ in: 'body', name: '/description' })]);
  });

  it('refuses an empty one and one over 500 characters', async () => {
    expect(invalid(await purchase(''))[0]).toMatchObject({ name: '/description' });
    expect(invalid(await purchase('x'.repeat(501)))[0]).toMatchObject({ name: '/description' });
  });

  it('accepts printable text, accents and emoji included, up to 500 characters', async () => {
    for (const description of ['A pair of socks', 'Crème brûlée 🍮', 'x'.repeat(500)]) {
      expect(accepted(await purchase(description)).body).toMatchObject({ description });
    }
  });
});

describe('path parameters are parsed strictly', () => {
  it('reads "42" as the number 42', async () => {
    const request = accepted(await deposit({ amount: 1 }, '42'));
    expect(request.path).toEqual({ user_id: 42 });
    expect(accepted(await getWallet('9007199254740991')).path).toEqual({ user_id: 9007199254740991 });
  });

  it.each(['12abc', '1.0', '01', ' 1', '1 ', '+1', '0x10', '1e3', '9007199254740992', '99999999999999999999'])(
    'refuses "%s" as a user id',
    async (userId) => {
      const errors = invalid(await getWallet(userId));
      expect(errors).toEqual([{ in: 'path', name: 'user_id', detail: 'must be an integer' }]);
    },
  );

  it.each(['0', '-1'])('refuses "%s": user ids are positive', async (userId) => {
    expect(invalid(await getWallet(userId))).toEqual([expect.objectContaining({ in: 'path', name: 'user_id' })]);
  });

  it('refuses a purchase id that is not a uuid and passes a uuid through as text', async () => {
    const get = (id: string) => callHttp(handlers.getPurchase, httpEvent('GET', `/api/purchase/${id}`, { path: { purchase_id: id } }));
    expect(invalid(await get('42'))).toEqual([expect.objectContaining({ in: 'path', name: 'purchase_id' })]);
    const id = '0b7c9a52-3f7e-4f5e-9a41-2d1f1c3b9e10';
    expect(accepted(await get(id)).path).toEqual({ purchase_id: id });
  });
});

describe('query parameters', () => {
  it('defaults limit to 20 and passes nothing else', async () => {
    expect(accepted(await listPurchases()).query).toEqual({ limit: 20 });
  });

  it('parses each parameter by its type', async () => {
    const request = accepted(await listPurchases({ user_id: '7', status: 'FINISHED', limit: '100', cursor: 'abc_-1' }));
    expect(request.query).toEqual({ user_id: 7, status: 'FINISHED', limit: 100, cursor: 'abc_-1' });
  });

  it('refuses an unknown parameter and names it', async () => {
    expect(invalid(await listPurchases({ page: '2' }))).toEqual([{ in: 'query', name: 'page', detail: 'is not a known parameter' }]);
  });

  it.each(['0', '101', 'x', '1.5', '20abc', '-5'])('refuses limit=%s', async (limit) => {
    expect(invalid(await listPurchases({ limit }))).toEqual([expect.objectContaining({ in: 'query', name: 'limit' })]);
  });

  it.each(['PAID', 'new', 'NEW,FINISHED'])('refuses status=%s: not one of the statuses', async (status) => {
    expect(invalid(await listPurchases({ status }))).toEqual([expect.objectContaining({ in: 'query', name: 'status' })]);
  });

  it('accepts every status', async () => {
    for (const status of ['NEW', 'FINISHED', 'CANCELLED']) {
      expect(accepted(await listPurchases({ status })).query).toMatchObject({ status });
    }
  });

  it('parses a user id in the query as strictly as in the path', async () => {
    expect(invalid(await listPurchases({ user_id: '1.5' }))).toEqual([{ in: 'query', name: 'user_id', detail: 'must be an integer' }]);
    expect(invalid(await listPurchases({ user_id: '0' }))).toEqual([expect.objectContaining({ in: 'query', name: 'user_id' })]);
  });

  it('refuses a cursor with characters outside its alphabet', async () => {
    expect(invalid(await listPurchases({ cursor: 'a b' }))).toEqual([expect.objectContaining({ in: 'query', name: 'cursor' })]);
  });
});

describe('the body as it arrives', () => {
  it('answers 400 /problems/malformed-json for a body that is not JSON', async () => {
    for (const body of ['{', '{"amount": 5,}', "{'amount': 5}", 'amount=5']) {
      const result = await callHttp(handlers.deposit, httpEvent('POST', '/api/wallet/42/deposit', { rawBody: body, path: { user_id: '42' } }));
      expect(problem(result, 400).type, body).toBe('/problems/malformed-json');
    }
  });

  it('answers 415 for a body that is not declared as JSON', async () => {
    const declared: Record<string, string>[] = [{ 'content-type': 'text/plain' }, { 'content-type': 'application/x-www-form-urlencoded' }, {}];
    for (const headers of declared) {
      const e = httpEvent('POST', '/api/wallet/create', { rawBody: '{"user_id":1}', headers });
      expect(problem(await callHttp(handlers.createWallet, e), 415).title).toBe('Unsupported Media Type');
    }
  });

  it('accepts JSON with a charset', async () => {
    const e = httpEvent('POST', '/api/wallet/create', { rawBody: '{"user_id":1}', headers: { 'content-type': 'application/json; charset=utf-8' } });
    expect(accepted(await callHttp(handlers.createWallet, e)).body).toEqual({ user_id: 1 });
  });

  it('reads a base64-encoded body', async () => {
    const body = Buffer.from('{"user_id":3}').toString('base64');
    const e = httpEvent('POST', '/api/wallet/create', { rawBody: body, isBase64Encoded: true, headers: { 'content-type': 'application/json' } });
    expect(accepted(await callHttp(handlers.createWallet, e)).body).toEqual({ user_id: 3 });
  });

  it('accepts a body of exactly 64 KiB and answers 413 for one byte more', async () => {
    expect(bodyLimitBytes).toBe(64 * 1024);
    const json = '{"user_id":1}';
    const atLimit = json + ' '.repeat(bodyLimitBytes - json.length);
    expect(accepted(await callHttp(handlers.createWallet, httpEvent('POST', '/api/wallet/create', { rawBody: atLimit }))).body).toEqual({ user_id: 1 });
    const over = await callHttp(handlers.createWallet, httpEvent('POST', '/api/wallet/create', { rawBody: atLimit + ' ' }));
    expect(problem(over, 413).title).toBe('Content Too Large');
  });

  it('counts the limit in bytes, not characters', async () => {
    const description = 'é'.repeat(20_000); // 40 000 bytes in UTF-8, more than 64 KiB once repeated below
    const body = JSON.stringify({ user_id: 1, amount: 1, description: description + description });
    expect(body.length).toBeLessThan(bodyLimitBytes);
    problem(await callHttp(handlers.createPurchase, httpEvent('POST', '/api/purchase', { rawBody: body })), 413);
  });
});

describe('errors of the handler itself', () => {
  it('answers an unavailable database with a 503 to retry, with Retry-After and nothing of the cause', async () => {
    const handler = httpHandler('createWallet', async () => {
      throw new DatabaseUnavailable(new Error('connect ECONNREFUSED 127.0.0.1:5432'));
    }, options);
    const result = await callHttp(handler, httpEvent('POST', '/api/wallet/create', { body: { user_id: 1 } }));
    expect(problem(result, 503).detail).toBe('The database is unavailable; retry shortly');
    expect(result.headers?.['retry-after']).toBe('1');
    expect(result.body).not.toMatch(/ECONNREFUSED/);
  });

  it('turns a plain Error into a 500 with a generic detail and logs it', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const handler = httpHandler('createWallet', async () => {
      throw new Error('connect ECONNREFUSED postgres://admin:secret@db:5432/payments');
    }, options);
    const result = await callHttp(handler, httpEvent('POST', '/api/wallet/create', { body: { user_id: 1 } }));
    const body = problem(result, 500);
    expect(body).toEqual({
      type: 'about:blank',
      title: 'Internal Server Error',
      status: 500,
      detail: 'The request could not be completed; it is safe to retry',
    });
    expect(result.body).not.toMatch(/secret|ECONNREFUSED|postgres/);
    expect(stderr.mock.calls.map(([line]) => String(line)).join('')).toMatch(/"event":"http\.failed".*ECONNREFUSED/);
  });

  it('does not run the handler when the request is invalid', async () => {
    const work = vi.fn(async () => ok({}));
    const handler = httpHandler('deposit', work, options);
    invalid(await callHttp(handler, httpEvent('POST', '/api/wallet/42/deposit', { body: { amount: '5' }, path: { user_id: '42' } })));
    expect(work).not.toHaveBeenCalled();
  });

  it('answers an HttpProblem thrown by the handler as it is', async () => {
    const handler = httpHandler('getWallet', async ({ path }) => {
      throw new HttpProblem(404, `User ${String(path.user_id)} has no wallet`, { headers: { 'cache-control': 'no-store' } });
    }, options);
    const result = await callHttp(handler, httpEvent('GET', '/api/wallet/42', { path: { user_id: '42' } }));
    expect(problem(result, 404)).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'User 42 has no wallet' });
    expect(result.headers?.['cache-control']).toBe('no-store');
  });

  it('writes a successful body with money as two decimals and the Location of a created resource', async () => {
    const handler = httpHandler(
      'createWallet',
      async ({ body }) => created({ ...(body as object), balance: new Money(30n) }, '/api/wallet/1'),
      options,
    );
    const result = await callHttp(handler, httpEvent('POST', '/api/wallet/create', { body: { user_id: 1 } }));
    expect(result).toMatchObject({ statusCode: 201, headers: { 'content-type': 'application/json', location: '/api/wallet/1' } });
    expect(result.body).toBe('{"user_id":1,"balance":0.30}');
  });
});
