// The standard stack of every HTTP function: body limit, JSON parsing, validation against
// openapi.yaml, and one place that turns every error into an application/problem+json response.
import middy, { type MiddlewareObj } from '@middy/core';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { bodyLimitBytes } from './config.js';
import { requestValidator, type OperationId, type RequestValidator, type ValidRequest } from './contract.js';
import { DatabaseUnavailable, type Sql } from './db.js';
import { fingerprint, idempotencyKey, idempotently } from './idempotency.js';
import { log } from './log.js';
import { toJson } from './money.js';
import { HttpProblem, problemResponse } from './problem.js';
import type { Service } from './service.js';

export interface HttpRequest<Id extends OperationId> extends ValidRequest<Id> {
  headers: APIGatewayProxyEventV2['headers'];
  /** Where to work: the request's own transaction when it carries an Idempotency-Key, else the pool */
  db: Sql;
}

type Event = APIGatewayProxyEventV2 & { valid?: ValidRequest<OperationId> };
type Middleware = MiddlewareObj<Event, APIGatewayProxyStructuredResultV2>;

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

function validateRequest<Id extends OperationId>(validator: RequestValidator<Id>): Middleware {
  return {
    before: ({ event }) => {
      const path = validator.params('path', event.pathParameters);
      const query = validator.params('query', event.queryStringParameters);
      event.valid = { path, query, body: validator.body(event.body) } as ValidRequest<OperationId>;
    },
  };
}

/**
 * Middy's JSON body parser says in its error's cause what it refused: `data` is the content type
 * when that is not JSON (checked first), else the body, with the parser's `message` when it is broken.
 */
interface BodyParserCause { package: '@middy/http-json-body-parser'; data?: unknown; message?: string }

function bodyParserCause(error: unknown): BodyParserCause | undefined {
  const cause = (error as { cause?: Partial<BodyParserCause> } | undefined)?.cause;
  return cause?.package === '@middy/http-json-body-parser' ? (cause as BodyParserCause) : undefined;
}

/** Maps any error to a problem; what is not ours to explain is a 500 without details. */
function toProblem(error: unknown, event: Pick<APIGatewayProxyEventV2, 'headers'>): HttpProblem {
  if (error instanceof HttpProblem) return error;
  const parser = bodyParserCause(error);
  if (parser) {
    const refusedContentType = parser.message === undefined && parser.data === event.headers['content-type'];
    // The parser answers 415 for a broken or missing body too; that is the client's syntax error: 400.
    return refusedContentType
      ? new HttpProblem(415, 'The body must be application/json')
      : new HttpProblem(400, 'The body is not valid JSON', { type: '/problems/malformed-json' });
  }
  if (error instanceof DatabaseUnavailable) {
    return new HttpProblem(503, 'The database is unavailable; retry shortly', { headers: { 'retry-after': '1' } });
  }
  return new HttpProblem(500, 'The request could not be completed; it is safe to retry');
}

function problems(): Middleware {
  return {
    onError: (request) => {
      const problem = toProblem(request.error, request.event);
      if (problem.status >= 500) log.error('http.failed', { route: request.event.routeKey, error: request.error });
      request.response = problemResponse(problem);
    },
  };
}

/** An HTTP function: validated input in, a result out, every failure a problem+json. */
export function httpHandler<Id extends OperationId>(
  operationId: Id,
  fn: (request: HttpRequest<Id>) => Promise<APIGatewayProxyStructuredResultV2>,
  service: Service,
): (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2> {
  const validator = requestValidator(operationId);
  const handler = middy<Event, APIGatewayProxyStructuredResultV2>().use(problems()).use(bodyLimit(bodyLimitBytes));
  if (validator.hasBody) handler.use(httpJsonBodyParser());
  handler.use(validateRequest(validator));
  return handler.handler(async (event) => {
    const request = (db: Sql) => ({ ...(event.valid as ValidRequest<Id>), headers: event.headers, db });
    const key = validator.idempotent ? idempotencyKey(event.headers) : undefined;
    if (key === undefined) return fn(request(service.db));
    const method = event.requestContext.http.method;
    return idempotently(service.db, event.routeKey, key, fingerprint(method, event.rawPath, event.body), (tx) =>
      // A refusal after the work began (no wallet, a wallet that exists) is an answer to record too.
      fn(request(tx)).catch((error: unknown) => {
        if (error instanceof HttpProblem && error.status < 500) return problemResponse(error);
        throw error;
      }),
    );
  });
}
