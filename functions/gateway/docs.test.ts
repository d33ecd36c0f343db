import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { expectResponseMatchesSpec } from '../../test/support/contract.js';
import { httpEvent, lambdaContext } from '../../test/support/lambda.js';
import { asset, openapi, page } from './docs.js';

const packageFile = (file: string) => readFileSync(createRequire(import.meta.url).resolve(`swagger-ui-dist/${file}`), 'utf8');

const getAsset = (file: string, headers?: Record<string, string>) =>
  asset(httpEvent('GET', `/docs/${file}`, { routeKey: 'GET /docs/{file}', path: { file }, headers }), lambdaContext);

describe('GET /openapi.yaml', () => {
  it('serves the OpenAPI 3.1 document as YAML, revalidated on every use', async () => {
    const res = await openapi(httpEvent('GET', '/openapi.yaml'), lambdaContext);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'application/yaml; charset=utf-8', 'cache-control': 'no-cache' });
    const document = parse(res.body!) as { openapi: string; paths: Record<string, unknown> };
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toContain('/api/purchase');
    expectResponseMatchesSpec('openapi', res.statusCode!, String(res.headers!['content-type']), res.body);
  });
});

describe('GET /docs', () => {
  it('serves a page of our own that loads Swagger UI from /docs, never from a CDN', async () => {
    const res = await page(httpEvent('GET', '/docs'), lambdaContext);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' });
    expect(res.body).toContain('<title>Shop API</title>');
    expect(res.body).toContain('<div id="swagger-ui"></div>');
    const loaded = [...res.body!.matchAll(/(?:href|src)="([^"]+)"/g)].map((m) => m[1]);
    expect(loaded).toEqual(['data:,', '/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/swagger-initializer.js']);
    expectResponseMatchesSpec('docs', res.statusCode!, String(res.headers!['content-type']), res.body);
  });

  it('serves every file the page loads', async () => {
    const res = await page(httpEvent('GET', '/docs'), lambdaContext);
    const files = [...res.body!.matchAll(/(?:href|src)="\/docs\/([^"]+)"/g)].map((m) => m[1]!);
    expect(files).toHaveLength(3);
    for (const file of files) {
      const res = await getAsset(file);
      expect(res.statusCode, file).toBe(200);
      expect(res.body, file).not.toBe('');
    }
  });
});

describe('GET /docs/{file}', () => {
  it.each([
    ['the Swagger UI bundle as JavaScript', 'swagger-ui-bundle.js', 'text/javascript; charset=utf-8', 'SwaggerUIBundle'],
    ['the Swagger UI stylesheet as CSS', 'swagger-ui.css', 'text/css; charset=utf-8', '.swagger-ui'],
  ])('serves %s, cached for a day', async (_, file, contentType, marker) => {
    const res = await getAsset(file);
    expect(res.statusCode).toBe(200);
    expect(res.headers).toMatchObject({ 'content-type': contentType, 'cache-control': 'public, max-age=86400' });
    expect(res.body!.length).toBe(packageFile(file).length);
    expect(res.body).toContain(marker);
    expectResponseMatchesSpec('docsAsset', res.statusCode!, String(res.headers!['content-type']), res.body);
  });

  it('serves a bundle that parses as JavaScript', async () => {
    const res = await getAsset('swagger-ui-bundle.js');
    expect(() => new Function(res.body!)).not.toThrow();
  });

  it('starts Swagger UI on /openapi.yaml in #swagger-ui, with no call to an outside validator', async () => {
    const res = await getAsset('swagger-initializer.js');
    expect(res.statusCode).toBe(200);
    expect(res.headers!['content-type']).toBe('text/javascript; charset=utf-8');
    const started: unknown[] = [];
    const window: Record<string, unknown> = {};
    new Function('window', 'SwaggerUIBundle', res.body!)(window, (options: unknown) => started.push(options));
    expect(started).toEqual([expect.objectContaining({ url: '/openapi.yaml', dom_id: '#swagger-ui', validatorUrl: null })]);
  });

  it('answers 404 problem+json for a file it does not have, including path traversal and object keys', async () => {
    for (const file of ['swagger-ui-standalone-preset.js', '..%2fpackage.json', '../package.json', '..%2F..%2Fopenapi.yaml', 'constructor', '']) {
      const res = await getAsset(file);
      expect(res.statusCode, file).toBe(404);
      expect(res.headers!['content-type']).toBe('application/problem+json');
      const problem = JSON.parse(res.body!) as { status: number; title: string; detail: string };
      expect(problem).toMatchObject({ status: 404, title: 'Not Found' });
      expect(problem.detail).toContain(JSON.stringify(file));
      expectResponseMatchesSpec('docsAsset', res.statusCode!, String(res.headers!['content-type']), problem);
    }
  });
});

describe('conditional requests', () => {
  type Fetch = (headers?: Record<string, string>) => Promise<APIGatewayProxyStructuredResultV2>;
  const cases: [string, Fetch][] = [
    ['/openapi.yaml', (headers) => openapi(httpEvent('GET', '/openapi.yaml', { headers }), lambdaContext)],
    ['/docs', (headers) => page(httpEvent('GET', '/docs', { headers }), lambdaContext)],
    ['/docs/swagger-ui-bundle.js', (headers) => getAsset('swagger-ui-bundle.js', headers)],
  ];

  it.each(cases)('%s answers 304 without a body when If-None-Match holds its etag', async (_, fetch) => {
    const first = await fetch();
    const etag = String(first.headers!.etag);
    expect(etag).toMatch(/^"[\w-]+"$/);

    for (const ifNoneMatch of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
      const again = await fetch({ 'if-none-match': ifNoneMatch });
      expect(again.statusCode, ifNoneMatch).toBe(304);
      expect(again.body).toBeUndefined();
      expect(again.headers).toEqual({ etag, 'cache-control': first.headers!['cache-control'] });
    }

    const changed = await fetch({ 'if-none-match': '"stale"' });
    expect(changed.statusCode).toBe(200);
    expect(changed.body).toBe(first.body);
  });

  it('reads If-None-Match whatever the case of the header name', async () => {
    const { headers } = await getAsset('swagger-ui.css');
    expect((await getAsset('swagger-ui.css', { 'If-None-Match': String(headers!.etag) })).statusCode).toBe(304);
  });

  it('gives each file its own etag, so one file never validates another', async () => {
    const tags = await Promise.all(['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-initializer.js'].map(async (f) => (await getAsset(f)).headers!.etag));
    const pageTag = (await page(httpEvent('GET', '/docs'), lambdaContext)).headers!.etag;
    expect(new Set([...tags, pageTag]).size).toBe(4);
    expect((await getAsset('swagger-ui.css', { 'if-none-match': String(pageTag) })).statusCode).toBe(200);
  });
});
