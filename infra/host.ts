// What every host of the runner shares. A host starts from the functions of the service that it
// finds its work in (their routes, schedules, queues; the manifest's proxies and streams), calls a
// function with the event Lambda would send and a Lambda context, and stops on request: it stops
// taking work, then lets what is in flight finish.
import type { Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import type { Config } from '../functions/lib/config.js';
import { log } from '../functions/lib/log.js';
import type { Check } from './health.js';
import type { Route } from './http/routes.js';
import { functionTimeoutMs, type FunctionSpec, type Service } from './manifest.js';

/** A handler of any kind; each host knows which event its functions take. */
export type AnyHandler = (event: never, context: Context) => Promise<unknown>;

export interface HostContext {
  service: Service;
  config: Config;
  /** The functions this process hosts */
  functions: readonly FunctionSpec[];
  /** The handler a function's module exports */
  handlerOf(fn: FunctionSpec): AnyHandler;
  /** Calls a function with its event and a fresh Lambda context */
  invoke(fn: FunctionSpec, event: unknown): Promise<unknown>;
  /** True once the runner is stopping: a retry loop gives up */
  stopping(): boolean;
}

export interface Host {
  /** Routes this host answers, served by the runner's one HTTP server */
  routes?: Route[];
  /** What this host needs, reported by GET /ready */
  checks?: Record<string, Check>;
  stop(): Promise<void>;
}

/** Starts a host when the service has work for it; undefined when it has none. */
export type StartHost = (context: HostContext) => Promise<Host | undefined>;

export function lambdaContext(functionName: string, timeoutMs = functionTimeoutMs): Context {
  const deadline = Date.now() + timeoutMs;
  const unsupported = (): never => {
    throw new Error('callback-style context methods are not supported: return a promise');
  };
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:offline:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'offline',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: unsupported,
    fail: unsupported,
    succeed: unsupported,
  };
}

/** The delay before the next attempt after `failures` failures in a row: doubling, up to `maxMs`. */
export function backoff(failures: number, baseMs = 100, maxMs = 5_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}

/** Retries `attempt` with a growing delay until it succeeds: a dependency may still be starting. */
export async function withRetry<T>(what: string, attempt: () => Promise<T>, isStopped = () => false): Promise<T> {
  for (let failures = 1; ; failures += 1) {
    try {
      return await attempt();
    } catch (error) {
      if (isStopped()) throw error;
      log.warn('runner.retry', { what, failures, error });
      await new Promise((resolve) => setTimeout(resolve, backoff(failures, 200, 5_000)));
    }
  }
}
