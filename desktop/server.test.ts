import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/freePort.js';
import { pageHeaders } from '../functions/gateway/pageHeaders.js';
import { loadAssets, pageFiles, withDesktopTags } from './assets.js';
import { createDesktopServer, type DesktopServer } from './server.js';
import { settingsStore } from './settings.js';
import { startFakeGateway, type FakeGateway } from './testing/fakeGateway.js';

const indexHtml = '<!doctype html>\n<html>\n  <head>\n    <title>Shop</title>\n  </head>\n  <body><div id="app"></div></body>\n</html>\n';
const assets = loadAssets((name) => Buffer.from(name === 'index.html' ? indexHtml : `contents of ${name}`));
const about = { version: '1.2.3', platform: 'linux' as const, arch: 'x64', node: 'v22.0.0' };

let gateway: FakeGateway;
let dir: string;
let desktop: DesktopServer;
let base: string;
let port: number;

beforeAll(async () => {
  gateway = await startFakeGateway();
  dir = await mkdtemp(join(tmpdir(), 'shop-desktop-server-'));
  const store = settingsStore(join(dir, 'settings.json'), () => undefined);
  desktop = createDesktopServer({ assets, about, gateway: { address: gateway.url, source: 'flag' }, store, checkTimeoutMs: 1000 });
  port = await desktop.listen(0);
  base = `http://127.0.0.1:${port}`;
});

afterAll(async () => {
  await desktop.close();
  await gateway.close();
  await rm(dir, { recursive: true, force: true });
});

const putSettings = (body: string, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${base}/desktop/settings`, { method: 'PUT', headers, body });

describe("the desktop's page", () => {
  it("is the shop's index.html with the desktop's stylesheet and script at the end of its head, under the page's policy", async () => {
    const response = await fetch(`${base}/`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    for (const [name, value] of Object.entries(pageHeaders)) expect(response.headers.get(name)).toBe(value);
    expect(await response.text()).toBe(
      '<!doctype html>\n<html>\n  <head>\n    <title>Shop</title>\n    <link rel="stylesheet" href="/desktop/desktop.css">\n    <script src="/desktop/desktop.js" defer></script>\n  </head>\n  <body><div id="app"></div></body>\n</html>\n',
    );
  });

  it('refuses an index.html without a head', () => {
    expect(() => withDesktopTags('<p>no head</p>')).toThrow('index.html has no </head>');
  });

  it('serves every file of the page by its path, and HEAD without a body', async () => {
    for (const [path, { name, type }] of Object.entries(pageFiles)) {
      if (path === '/') continue;
      const response = await fetch(base + path);
      expect({ path, status: response.status, type: response.headers.get('content-type'), body: await response.text() }).toEqual({ path, status: 200, type, body: `contents of ${name}` });
    }
    const head = await fetch(`${base}/web/app.js`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
  });

  it('answers an unknown path with a 404 problem, and another method with a 405', async () => {
    const missing = await fetch(`${base}/web/../package.json`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect((await fetch(`${base}/nothing`)).status).toBe(404);
    expect((await fetch(`${base}/desktop/nothing`)).status).toBe(404);
    const post = await fetch(`${base}/web/app.js`, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const status = await fetch(`${base}/desktop/status`, { method: 'DELETE' });
    expect(status.status).toBe(405);
    expect(status.headers.get('allow')).toBe('GET');
  });
});

describe('who may ask', () => {
  it('answers only to its own address: another host name (DNS rebinding) gets a 403', async () => {
    const { request } = await import('node:http');
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.1', port, path: '/', headers: { host: 'attacker.example' } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject).end();
    });
    expect(status).toBe(403);
    expect((await fetch(`http://localhost:${port}/desktop/settings`)).status).toBe(200);
  });

  it("refuses a change sent from another site's page", async () => {
    const response = await putSettings('{"gateway":"http://elsewhere:1"}', { 'content-type': 'application/json', origin: 'http://attacker.example' });
    expect(response.status).toBe(403);
    expect((await response.json()).detail).toBe('A page of http://attacker.example may not send changes to Shop');
    expect(desktop.gateway.address).toBe(gateway.url);
  });
});

describe('the API through the desktop', () => {
  it('forwards /api/* to the gateway', async () => {
    const response = await fetch(`${base}/api/purchases?user_id=1`);
    expect(response.status).toBe(201);
    expect((await response.json()).url).toBe('/api/purchases?user_id=1');
  });
});

describe('the desktop endpoints', () => {
  it('GET /desktop/status: the app, its platform, its gateway, and that it answers', async () => {
    expect(await (await fetch(`${base}/desktop/status`)).json()).toEqual({
      app: 'Shop',
      ...about,
      gateway: gateway.url,
      source: 'flag',
      settings_file: join(dir, 'settings.json'),
      reachable: true,
      detail: `Connected to the gateway at ${gateway.url}.`,
    });
  });

  it('PUT /desktop/settings: switches to the new gateway at once, saves it, and says whether it answers', async () => {
    const closed = await freePort();
    const response = await putSettings(JSON.stringify({ gateway: `127.0.0.1:${closed}` }));
    expect(response.status).toBe(200);
    const status = await response.json();
    expect(status).toMatchObject({ gateway: `http://127.0.0.1:${closed}`, source: 'settings', reachable: false });
    expect(status.detail).toContain(`Shop cannot reach the gateway at http://127.0.0.1:${closed}`);
    expect(JSON.parse(await readFile(join(dir, 'settings.json'), 'utf8'))).toEqual({ gateway: `http://127.0.0.1:${closed}` });
    const api = await fetch(`${base}/api/wallet/1`);
    expect(api.status).toBe(502);
    expect((await api.json()).detail).toMatch(/^Shop cannot reach the gateway at/);
    expect(await (await fetch(`${base}/desktop/settings`)).json()).toEqual({ gateway: `http://127.0.0.1:${closed}`, source: 'settings', settings_file: join(dir, 'settings.json') });

    expect((await putSettings(JSON.stringify({ gateway: gateway.url }))).status).toBe(200);
    expect((await fetch(`${base}/api/wallet/1`)).status).toBe(201);
  });

  it('PUT /desktop/settings: a bad address is a 400 naming the field, and changes nothing', async () => {
    const response = await putSettings('{"gateway":"ftp://shop.example"}');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      status: 400,
      errors: [{ in: 'body', name: '/gateway', detail: '"ftp://shop.example" must start with http:// or https://' }],
    });
    expect((await putSettings('{"gateway":8005}')).status).toBe(400);
    expect((await putSettings('{"gateway":')).status).toBe(400);
    expect((await putSettings('{}', { 'content-type': 'text/plain' })).status).toBe(415);
    expect((await putSettings(JSON.stringify({ gateway: 'x'.repeat(5000) }))).status).toBe(413);
    expect(desktop.gateway).toEqual({ address: gateway.url, source: 'settings' });
  });
});
