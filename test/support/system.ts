// Starts Shop's runners inside the test process, from the source modules (so coverage sees them),
// each service with its own test database and the file's own broker namespace.
import { expect } from 'vitest';
import { loadConfig } from '../../functions/lib/config.js';
import type { Service } from '../../infra/manifest.js';
import type { AnyHandler } from '../../infra/host.js';
import { startRunner, type Runner } from '../../infra/runner.js';

export const loadSource = async (fn: { module: string; exportName: string }): Promise<AnyHandler> =>
  ((await import(/* @vite-ignore */ new URL(`../../${fn.module}.ts`, import.meta.url).href)) as Record<string, AnyHandler>)[
    fn.exportName
  ]!;

/** Sets the environment the services read when they are first used (their configuration and pools). */
export function configure(env: Record<string, string>): void {
  Object.assign(process.env, { SCHEDULE_INTERVAL_MS: '1000', ...env });
}

export async function startService(service: Service, only?: string[], overrides: Record<string, unknown> = {}): Promise<Runner> {
  return startRunner({ service, config: { ...loadConfig(service), port: 0, ...overrides }, load: loadSource, only });
}

export async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Checks for `ms` that something does not happen (a listener that stopped does not come back): the
 * check runs throughout, and the test fails as soon as it no longer holds.
 */
export async function holdsFor(what: string, check: () => boolean | Promise<boolean>, ms: number): Promise<void> {
  const until = Date.now() + ms;
  do {
    if (!(await check())) throw new Error(`${what} no longer held`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  } while (Date.now() < until);
}

export interface Api {
  post(path: string, body: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  get(path: string): Promise<{ status: number; body: any; headers: Headers }>;
}

export function api(baseUrl: string): Api {
  const call = async (path: string, init?: RequestInit) => {
    const response = await fetch(baseUrl + path, init);
    const text = await response.text();
    return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
  };
  return {
    post: (path, body) => call(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    get: (path) => call(path),
  };
}

interface Settled {
  status: string;
  reason: string | null;
}

/** What the flow tests do through the services' HTTP APIs; the services may be restarted between calls. */
export function shopDriver(services: () => { payments: Api; orders: Api }, description = 'a test order') {
  let nextUser = 1;
  const driver = {
    /** A user id no test of this file used yet. */
    newUser: () => nextUser++,
    /** A new user's wallet holding `amount`. */
    async walletWith(amount: number): Promise<number> {
      const userId = driver.newUser();
      const { payments } = services();
      expect((await payments.post('/api/wallet/create', { user_id: userId })).status).toBe(201);
      if (amount > 0) expect((await payments.post(`/api/wallet/${userId}/deposit`, { amount })).status).toBe(200);
      return userId;
    },
    /** Places an order and returns its id; it is NEW. */
    async order(userId: number, amount: number): Promise<string> {
      const response = await services().orders.post('/api/purchase', { user_id: userId, amount, description });
      expect(response.status).toBe(201);
      expect(response.body.status).toBe('NEW');
      return response.body.id as string;
    },
    async statusOf(id: string): Promise<string> {
      return (await services().orders.get(`/api/purchase/${id}`)).body.status as string;
    },
    /** The order once it is FINISHED or CANCELLED. */
    async settled(id: string, timeoutMs?: number): Promise<Settled> {
      return waitFor(`order ${id} to settle`, async () => {
        const { body } = await services().orders.get(`/api/purchase/${id}`);
        return body.status === 'NEW' ? undefined : (body as Settled);
      }, timeoutMs);
    },
    async balance(userId: number): Promise<number> {
      return (await services().payments.get(`/api/wallet/${userId}`)).body.balance as number;
    },
  };
  return driver;
}
