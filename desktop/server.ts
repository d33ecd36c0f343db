// The desktop app's local web server on 127.0.0.1: the page from the embedded files, /api/* (and
// the status stream) forwarded to the gateway, and the desktop's own endpoints:
//   GET /desktop/status    which gateway, whether it answers, on which platform the app runs
//   GET /desktop/settings  the gateway's address and where it was set
//   PUT /desktop/settings  {"gateway": "http://..."}: use this gateway from now on, and save it
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpProblem, problemResponse } from '../functions/lib/problem.js';
import { pageHeaders } from '../functions/gateway/pageHeaders.js';
import { readBody } from '../infra/http/apiGateway.js';
import type { Assets } from './assets.js';
import { checkGateway, createForwarder, type Reachability } from './forward.js';
import { AddressError, parseGatewayAddress, type GatewaySource, type SettingsStore } from './settings.js';

export interface About {
  version: string;
  platform: NodeJS.Platform;
  arch: string;
  node: string;
}

interface DesktopServerOptions {
  assets: Assets;
  about: About;
  gateway: { address: string; source: GatewaySource };
  store: SettingsStore;
  /** How long a request waits for the gateway's answer to begin */
  upstreamTimeoutMs?: number;
  /** How long the reachability check waits */
  checkTimeoutMs?: number;
}

export interface DesktopServer {
  server: http.Server;
  /** Resolves with the bound port of 127.0.0.1 */
  listen(port: number): Promise<number>;
  /** The gateway in use, changed by PUT /desktop/settings */
  readonly gateway: { address: string; source: GatewaySource };
  /** Ends every connection (an open event stream too) and stops listening */
  close(): Promise<void>;
}

const settingsBodyLimit = 4 * 1024;
const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string | Buffer, head = false): void {
  res.writeHead(status, headers);
  res.end(head ? undefined : body);
}

function sendJson(res: ServerResponse, body: unknown): void {
  send(res, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(body));
}

function sendProblem(res: ServerResponse, problem: HttpProblem): void {
  const { statusCode, headers, body } = problemResponse(problem);
  send(res, statusCode ?? problem.status, { ...(headers as Record<string, string>), 'cache-control': 'no-store' }, body ?? '');
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  if (!/^application\/json\s*(;|$)/i.test(req.headers['content-type'] ?? '')) {
    throw new HttpProblem(415, 'Send the settings as JSON (content-type: application/json)');
  }
  // The runner's body reader: a 413 as soon as the body passes the limit, and the connection closed.
  const body = await readBody(req, settingsBodyLimit);
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpProblem(400, 'The settings are not valid JSON');
  }
}

function requestedGateway(body: unknown): string {
  const gateway = (body as { gateway?: unknown } | null)?.gateway;
  const field = (detail: string) => new HttpProblem(400, detail, { type: '/problems/validation', title: 'Invalid request', errors: [{ in: 'body', name: '/gateway', detail }] });
  if (typeof gateway !== 'string') throw field('Give the gateway\'s address as a string, e.g. {"gateway": "http://127.0.0.1:8005"}');
  try {
    return parseGatewayAddress(gateway);
  } catch (error) {
    if (error instanceof AddressError) throw field(error.message);
    throw error;
  }
}

export function createDesktopServer(options: DesktopServerOptions): DesktopServer {
  const { assets, about, store, upstreamTimeoutMs = 30_000, checkTimeoutMs = 3_000 } = options;
  const gateway = { ...options.gateway };
  const forwarder = createForwarder({ timeoutMs: upstreamTimeoutMs });

  const status = async (reachability?: Reachability) => ({
    app: 'Shop',
    ...about,
    gateway: gateway.address,
    source: gateway.source,
    settings_file: store.file,
    ...(reachability ?? (await checkGateway(gateway.address, checkTimeoutMs))),
  });

  async function desktopRoute(req: IncomingMessage, res: ServerResponse, pathname: string, method: string): Promise<void> {
    if (pathname === '/desktop/status' && method === 'GET') return sendJson(res, await status());
    if (pathname === '/desktop/settings' && method === 'GET') return sendJson(res, { gateway: gateway.address, source: gateway.source, settings_file: store.file });
    if (pathname === '/desktop/settings' && method === 'PUT') {
      const address = requestedGateway(await readJson(req));
      try {
        await store.save({ gateway: address });
      } catch (error) {
        throw new HttpProblem(500, `The address could not be saved in ${store.file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
      }
      Object.assign(gateway, { address, source: 'settings' });
      return sendJson(res, await status());
    }
    const allow = pathname === '/desktop/settings' ? 'GET, PUT' : 'GET';
    if (['/desktop/status', '/desktop/settings'].includes(pathname)) throw new HttpProblem(405, `${method} is not allowed on ${pathname}; allowed: ${allow}`, { headers: { allow } });
    throw new HttpProblem(404, `No page or endpoint at ${pathname}`);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    try {
      // Only this computer's pages, by name: another site's page cannot reach in (DNS rebinding) or send changes.
      const port = req.socket.localPort;
      const host = req.headers.host ?? '';
      if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) throw new HttpProblem(403, `Shop answers only to http://127.0.0.1:${port}/, not to the host "${host}"`);
      const origin = req.headers.origin;
      if (!safeMethods.has(method) && origin !== undefined && origin !== `http://${host}`) throw new HttpProblem(403, `A page of ${origin} may not send changes to Shop`);
      const pathname = new URL(req.url ?? '/', 'http://local').pathname;
      if (pathname === '/api' || pathname.startsWith('/api/')) return await forwarder.forward(req, res, gateway.address);
      if (pathname.startsWith('/desktop/') && !assets.has(pathname)) return await desktopRoute(req, res, pathname, method);
      const file = assets.get(pathname === '/index.html' ? '/' : pathname);
      if (!file) throw new HttpProblem(404, `No page or endpoint at ${pathname}`);
      if (method !== 'GET' && method !== 'HEAD') throw new HttpProblem(405, `${method} is not allowed on ${pathname}; allowed: GET, HEAD`, { headers: { allow: 'GET, HEAD' } });
      const headers = { 'content-type': file.type, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff', ...(pathname === '/' && pageHeaders) };
      send(res, 200, headers, file.body, method === 'HEAD');
    } catch (error) {
      if (res.headersSent) return void res.destroy();
      sendProblem(res, error instanceof HttpProblem ? error : new HttpProblem(500, `Shop could not answer: ${(error as Error).message}`));
    }
  }

  const server = http.createServer((req, res) => void handle(req, res));
  return {
    server,
    gateway,
    listen: (port) =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, '127.0.0.1', () => {
          server.off('error', reject);
          resolve((server.address() as AddressInfo).port);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => {
          forwarder.close();
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
