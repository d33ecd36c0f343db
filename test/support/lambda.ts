// What AWS Lambda hands the functions in the tests: API Gateway HTTP API (v2) events, a context,
// and the Amazon MQ for RabbitMQ ("aws:rmq") events of the consumers, with the envelopes they carry.
import type { OperationId } from '../../functions/lib/contract.js';
import { randomUUID } from 'node:crypto';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { expect } from 'vitest';
import type { Envelope, MessageType, Payloads } from '../../functions/lib/messages.js';
import type { RmqEvent, RmqMessage } from '../../functions/lib/rmqEvent.js';
import { expectResponseMatchesSpec } from './contract.js';

/** A Lambda context with time to spare. */
export const lambdaContext = { getRemainingTimeInMillis: () => 10_000, functionName: 'x' } as Context;

interface HttpEventOptions {
  /** Path parameters */
  path?: Record<string, string>;
  /** Query string parameters; also written as the raw query string */
  query?: Record<string, string>;
  /** Sent as JSON */
  body?: unknown;
  /** Sent as it is, in place of `body` */
  rawBody?: string;
  /** All the headers; without them, content-type application/json when there is a body and none otherwise */
  headers?: Record<string, string>;
  /** The route the request matched, such as `GET /docs/{file}`; `method rawPath` unless given */
  routeKey?: string;
  isBase64Encoded?: boolean;
}

/** An API Gateway HTTP API (payload 2.0) request. */
export function httpEvent(method: string, rawPath: string, options: HttpEventOptions = {}): APIGatewayProxyEventV2 {
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const routeKey = options.routeKey ?? `${method} ${rawPath}`;
  return {
    version: '2.0',
    routeKey,
    rawPath,
    rawQueryString: new URLSearchParams(options.query).toString(),
    headers: options.headers ?? (body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(options.path && { pathParameters: options.path }),
    ...(options.query && { queryStringParameters: options.query }),
    ...(body !== undefined && { body }),
    isBase64Encoded: options.isBase64Encoded ?? false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method, path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: randomUUID(),
      routeKey,
      stage: '$default',
      time: '31/Jan/2025:10:00:00 +0000',
      timeEpoch: 1738317600000,
    },
  };
}

type HttpHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<unknown>;
export type HttpResult = APIGatewayProxyStructuredResultV2 & { statusCode: number };

/** Calls an HTTP function and checks that it answered with a structured result that has a status. */
export async function callHttp(handler: HttpHandler, event: APIGatewayProxyEventV2): Promise<HttpResult> {
  const result = (await handler(event, lambdaContext)) as APIGatewayProxyStructuredResultV2;
  expect(typeof result.statusCode).toBe('number');
  return result as HttpResult;
}

export interface HttpReply<T = Record<string, unknown>> {
  status: number;
  headers: Record<string, string>;
  text: string;
  json: T;
}

/** Invokes an HTTP function that answers JSON and checks its response against openapi.yaml. */
export async function invokeHttp<T = Record<string, unknown>>(
  operationId: OperationId,
  handler: HttpHandler,
  event: APIGatewayProxyEventV2,
): Promise<HttpReply<T>> {
  const result = await callHttp(handler, event);
  const headers = (result.headers ?? {}) as Record<string, string>;
  const text = result.body ?? '';
  const json = JSON.parse(text) as T;
  expectResponseMatchesSpec(operationId, result.statusCode, headers['content-type'], json);
  return { status: result.statusCode, headers, text, json };
}

/** An integration event as the services publish it. */
export function envelope<T extends MessageType>(type: T, payload: Payloads[T], messageId: string = randomUUID()): Envelope<T> {
  return { message_id: messageId, type, occurred_at: new Date().toISOString(), payload };
}

/**
 * One record as Amazon MQ delivers it. `body`, an envelope or anything else a queue may carry, is
 * sent as it is when it is a string and as JSON otherwise. An envelope's order and type become the
 * correlation id and type of the message, and its id the message id unless `messageId` is given.
 */
export function rmqRecord(body: unknown, messageId?: string | null): RmqMessage {
  const data = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Partial<Envelope>;
  return {
    basicProperties: {
      contentType: 'application/json',
      contentEncoding: null,
      headers: null,
      deliveryMode: 2,
      priority: null,
      correlationId: fields.payload?.order_id ?? null,
      replyTo: null,
      expiration: null,
      messageId: messageId === undefined ? (fields.message_id ?? null) : messageId,
      timestamp: null,
      type: fields.type ?? null,
      userId: null,
      appId: null,
      clusterId: null,
      bodySize: data.length,
    },
    redelivered: false,
    data: data.toString('base64'),
  };
}

/** A batch of records from one queue, as a consumer function receives it. */
export function rmqEvent(records: RmqMessage[]): RmqEvent {
  return { eventSource: 'aws:rmq', eventSourceArn: 'arn', rmqMessagesByQueue: { 'q::/': records } };
}
