// The standard stack of every HTTP function: body limit, JSON parsing, validation against
// openapi.yaml, and one place that turns every error into an application/problem+json response.
import middy, { type MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyResultV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { Db } from './db.js';
import { fingerprint, idempotencyKey, idempotently } from './idempotency.js';
import { log } from './log.js';
import { toJson } from './money.js';
import { requestValidator, type RequestValidator } from './openapi.js';
import { HttpProblem, problemResponse } from './problem.js';

export const bodyLimitBytes = 64 * 1024;

type Params = Record<string, string | number | boolean>;

export interface HttpRequest {
  path: Params;
  query: Params;
  body: unknown;
  headers: APIGatewayProxyEventV2['headers'];
  /** The database to work in: the request's own transaction when it carries an Idempotency-Key */
  db: Db;
}

export interface HttpOptions {
  /** The service's database (created once per process, outside the handler) */
  db: () => Db;
}

type Event = APIGatewayProxyEventV2 & { parsed?: { path: Params; query: Params } };
type Middleware = MiddlewareObj<Event, APIGatewayProxyResultV2>;

const jsonHeaders = { 'content-type': 'application/json' };

export function ok(body: unknown): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 200, headers: jsonHeaders, body: toJson(body) };
}

export function created(body: unknown, location: string): APIGatewayProxyStructuredResultV2 {
  return { statusCode: 201, headers: { ...jsonHeaders, location }, body: toJson(body) };
}

function bodyLimit(limit: number): Middleware {
  return {
    before: ({ event }) => {
      const size = event.body ? Buffer.byteLength(event.body, event.isBase64Encoded ? 'base64' : 'utf8') : 0;
      if (size > limit) throw new HttpProblem(413, `The body is ${size} bytes; at most ${limit} are accepted`);
    },
  };
}

function validateRequest(validator: RequestValidator): Middleware {
  return {
    before: ({ event }) => {
      const path = validator.params('path', event.pathParameters);
      const query = validator.params('query', event.queryStringParameters);
      validator.body(event.body);
      event.parsed = { path, query };
    },
  };
}

interface ExposedError { statusCode?: number; expose?: boolean; code?: string; cause?: { package?: string } }

// Signs that PostgreSQL is out of reach (refused, reset, restarting, no pool connection in time):
// the request changed nothing and can be retried.
const unavailableCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

function isUnavailable(e: ExposedError & Error): boolean {
  return unavailableCodes.has(e.code ?? '') || e.name === 'KnexTimeoutError' || /Connection terminated/.test(e.message ?? '');
}

/** Maps any error to a problem; what is not ours to explain is a 500 without details. */
export function toProblem(error: unknown): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const e = error as ExposedError & Error;
  if (e?.cause?.package === '@middy/http-json-body-parser') {
    // The parser answers 415 for broken JSON too; a broken body is the client's syntax error: 400.
    return /malformed JSON/.test(e.message)
      ? new HttpProblem(400, 'The body is not valid JSON', { type: '/problems/malformed-json' })
      : new HttpProblem(415, 'The body must be application/json');
  }
  if (e?.expose && typeof e.statusCode === 'number' && e.statusCode < 500) return new HttpProblem(e.statusCode, e.message);
  if (e && isUnavailable(e)) {
    return new HttpProblem(503, 'The database is unavailable; retry shortly', { headers: { 'retry-after': '1' } });
  }
  return new HttpProblem(500, 'The request could not be completed; it is safe to retry');
}

function problems(): Middleware {
  return {
    onError: (request) => {
      const problem = toProblem(request.error);
      if (problem.status >= 500) log.error('http.failed', { route: request.event.routeKey, error: request.error });
      request.response = problemResponse(problem);
    },
  };
}

/** An HTTP function: validated input in, a result out, every failure a problem+json. */
export function httpHandler(
  operationId: string,
  fn: (request: HttpRequest) => Promise<APIGatewayProxyStructuredResultV2>,
  options: HttpOptions,
): (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyResultV2> {
  const validator = requestValidator(operationId);
  const handler = middy<Event, APIGatewayProxyResultV2>().use(problems()).use(bodyLimit(bodyLimitBytes));
  if (validator.hasBody) handler.use(httpJsonBodyParser());
  handler.use(validateRequest(validator));
  return handler.handler(async (event) => {
    const request = (db: Db) => ({ ...event.parsed!, body: event.body, headers: event.headers, db });
    const key = validator.idempotent ? idempotencyKey(event.headers) : undefined;
    if (key === undefined) return fn(request(options.db()));
    const method = event.requestContext.http.method;
    return idempotently(options.db(), event.routeKey, key, fingerprint(method, event.rawPath, event.body), (tx) =>
      // A refusal after the work began (no wallet, a wallet that exists) is an answer to record too.
      fn(request(tx)).catch((error: unknown) => {
        if (error instanceof HttpProblem && error.status < 500) return problemResponse(error);
        throw error;
      }),
    );
  });
}
