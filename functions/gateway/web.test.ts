import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { expectResponseMatchesSpec } from '../../test/support/contract.js';
import { asset, page, serviceWorker } from './web.js';

const context = {} as Context;

function get(routeKey: string, rawPath: string, options: { file?: string; headers?: Record<string, string> } = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `GET ${routeKey}`,
    rawPath,
    rawQueryString: '',
    headers: options.headers ?? {},
    ...(options.file !== undefined && { pathParameters: { file: options.file } }),
    isBase64Encoded: false,
    requestContext: {
      accountId: 'local',
      apiId: 'local',
      domainName: 'localhost',
      domainPrefix: 'localhost',
      http: { method: 'GET', path: rawPath, protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: 'request-1',
      routeKey: `GET ${routeKey}`,
      stage: '$default',
      time: '31/Jan/2025:10:00:00 +0000',
      timeEpoch: 1738317600000,
    },
  };
}

const getAsset = (file: string, headers?: Record<string, string>) => asset(get('/web/{file}', `/web/${file}`, { file, headers }), context);

describe('GET /', () => {
  it('serves the page, which loads only files of its own origin, under a strict content security policy', async () => {
    const res = await page(get('/', '/'), context);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    expect(res.headers!['content-security-policy']).toContain("default-src 'self'");
    expect(res.body).toContain('<div id="app"></div>');
    expect(res.body).not.toMatch(/<script>|style=|https?:\/\//);
    const loaded = [...res.body!.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    expect(loaded).toEqual(['/web/manifest.webmanifest', '/web/icon.svg', '/web/app.css', '/web/app.js']);
    for (const file of loaded) expect((await getAsset(file!.replace('/web/', ''))).statusCode, file).toBe(200);
    expectResponseMatchesSpec('webPage', res.statusCode!, String(res.headers!['content-type']), res.body);
  });

  it('answers 304 to a browser that holds the same page', async () => {
    const first = await page(get('/', '/'), context);
    const again = await page(get('/', '/', { headers: { 'if-none-match': String(first.headers!.etag) } }), context);
    expect(again.statusCode).toBe(304);
    expect(again.body).toBeUndefined();
  });
});

describe('GET /web/{file}', () => {
  it('serves the bundled script and stylesheet that the build made', async () => {
    const js = await getAsset('app.js');
    expect(js.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
    expect(js.body).toContain('/api/purchases/stream');
    // Small: the page is Preact and its own code, minified.
    expect(js.body!.length).toBeLessThan(100_000);
    const css = await getAsset('app.css');
    expect(css.headers!['content-type']).toBe('text/css; charset=utf-8');
    expect(css.body).toContain(':focus-visible');
    expectResponseMatchesSpec('webAsset', js.statusCode!, String(js.headers!['content-type']), js.body);
  });

  it('serves a web app manifest that opens the shop at / in a window of its own', async () => {
    const res = await getAsset('manifest.webmanifest');
    expect(res.headers!['content-type']).toBe('application/manifest+json; charset=utf-8');
    const manifest = JSON.parse(res.body!) as { start_url: string; scope: string; display: string; icons: { src: string; sizes: string }[] };
    expect(manifest).toMatchObject({ start_url: '/', scope: '/', display: 'standalone' });
    for (const icon of manifest.icons) expect((await getAsset(icon.src.replace('/web/', ''))).statusCode).toBe(200);
    expect((await getAsset('icon.svg')).headers!['content-type']).toBe('image/svg+xml; charset=utf-8');
  });

  it('answers 404 problem+json for a file it does not have, including path traversal and object keys', async () => {
    for (const file of ['index.html', '../package.json', '..%2F..%2Fopenapi.yaml', 'constructor', '']) {
      const res = await getAsset(file);
      expect(res.statusCode, file).toBe(404);
      expect(res.headers!['content-type']).toBe('application/problem+json');
      expectResponseMatchesSpec('webAsset', res.statusCode!, String(res.headers!['content-type']), JSON.parse(res.body!));
    }
  });
});

describe('GET /sw.js', () => {
  it('serves the service worker, which caches the shell under a name that changes with it, and never the API', async () => {
    const res = await serviceWorker(get('/sw.js', '/sw.js'), context);
    expect(res.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache' });
    expect(res.body).toMatch(/shop-shell-[0-9a-f]{12}/);
    expect(res.body).toContain('"/web/app.js"');
    expect(res.body).not.toContain('/api/');
    expectResponseMatchesSpec('webServiceWorker', res.statusCode!, String(res.headers!['content-type']), res.body);
  });
});
