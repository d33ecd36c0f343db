// Starts Shop's runners inside the test process, from the source modules (so coverage sees them),
// each service with its own test database and the file's own broker namespace.
import { loadConfig } from '../../functions/lib/config.js';
import type { Service } from '../../infra/manifest.js';
import { startRunner, type AnyHandler, type Runner } from '../../infra/runner.js';

export const loadSource = async (fn: { module: string; exportName: string }): Promise<AnyHandler> =>
  ((await import(/* @vite-ignore */ new URL(`../../${fn.module}.ts`, import.meta.url).href)) as Record<string, AnyHandler>)[
    fn.exportName
  ]!;

/** Sets the environment every function module reads at import; call before the first import. */
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
