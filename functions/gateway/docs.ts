// GET /openapi.yaml, GET /docs, GET /docs/{file}: the contract and Swagger UI over it. Every file is
// bundled into the function as text, so nothing is read from disk and nothing comes from a CDN.
import swaggerUiBundle from 'swagger-ui-dist/swagger-ui-bundle.js?raw';
import swaggerUiCss from 'swagger-ui-dist/swagger-ui.css?raw';
import spec from '../../openapi.yaml?raw';
import { assetHandler, getHandler, serve, staticFile, type StaticFile } from './static.js';

// The Swagger UI files change only with a deploy; their URLs carry no version, so no `immutable`.
const cachedForADay = 'public, max-age=86400';
const alwaysRevalidate = 'no-cache';

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

export const openapi = getHandler((event) => serve(specFile, event));

export const page = getHandler((event) => serve(pageFile, event));

export const asset = assetHandler('/docs', assets);
