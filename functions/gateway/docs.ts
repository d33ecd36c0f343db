// GET /openapi.yaml, GET /docs, GET /docs/{file}: the contract and Swagger UI over it. Every file is
// bundled into the function as text, so nothing is read from disk and nothing comes from a CDN.
import { createHash } from 'node:crypto';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import swaggerUiBundle from 'swagger-ui-dist/swagger-ui-bundle.js?raw';
import swaggerUiCss from 'swagger-ui-dist/swagger-ui.css?raw';
import spec from '../../openapi.yaml?raw';
import { HttpProblem, problemResponse } from '../lib/problem.js';

interface StaticFile {
  body: string;
  contentType: string;
  cacheControl: string;
  etag: string;
}

// The Swagger UI files change only with a deploy; their URLs carry no version, so no `immutable`.
const cachedForADay = 'public, max-age=86400';
const alwaysRevalidate = 'no-cache';

function staticFile(body: string, contentType: string, cacheControl: string): StaticFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  return { body, contentType, cacheControl, etag };
}

const pageHtml = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>Shop API</title>
    <link rel="icon" href="data:,">
    <link rel="stylesheet" href="/docs/swagger-ui.css">
    <style>body { margin: 0; }</style>
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/swagger-initializer.js"></script>
  </body>
</html>
`;

// validatorUrl: null keeps Swagger UI from sending the document to validator.swagger.io.
const initializerJs = `window.ui = SwaggerUIBundle({
  url: '/openapi.yaml',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
});
`;

const specFile = staticFile(spec, 'application/yaml; charset=utf-8', alwaysRevalidate);
const pageFile = staticFile(pageHtml, 'text/html; charset=utf-8', alwaysRevalidate);
const assets = new Map<string, StaticFile>([
  ['swagger-ui.css', staticFile(swaggerUiCss, 'text/css; charset=utf-8', cachedForADay)],
  ['swagger-ui-bundle.js', staticFile(swaggerUiBundle, 'text/javascript; charset=utf-8', cachedForADay)],
  ['swagger-initializer.js', staticFile(initializerJs, 'text/javascript; charset=utf-8', cachedForADay)],
]);

/** If-None-Match uses the weak comparison (RFC 9110, 13.1.2): `W/"x"` matches `"x"`. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === etag;
  });
}

function serve(file: StaticFile, event: APIGatewayProxyEventV2): APIGatewayProxyStructuredResultV2 {
  const cacheHeaders = { 'cache-control': file.cacheControl, etag: file.etag };
  if (matchesEtag(event.headers['if-none-match'], file.etag)) return { statusCode: 304, headers: cacheHeaders };
  return { statusCode: 200, headers: { 'content-type': file.contentType, ...cacheHeaders }, body: file.body };
}

function getHandler(respond: (event: APIGatewayProxyEventV2) => APIGatewayProxyStructuredResultV2) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpHeaderNormalizer())
    .handler(async (event) => respond(event));
}

export const openapi = getHandler((event) => serve(specFile, event));

export const page = getHandler((event) => serve(pageFile, event));

// A fixed table of names, never a path: `../package.json` or `constructor` is simply not in it.
export const asset = getHandler((event) => {
  const name = event.pathParameters?.file ?? '';
  const file = assets.get(name);
  return file ? serve(file, event) : problemResponse(new HttpProblem(404, `/docs has no file named ${JSON.stringify(name)}`));
});
