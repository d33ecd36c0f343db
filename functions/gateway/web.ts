// GET /, GET /web/{file}, GET /sw.js: the shop front. The page, its manifest and icon come from web/;
// the script, stylesheet and service worker from web/build.mjs, which `npm run build` runs into
// dist/web/ before it bundles the functions. Nothing is read from disk at run time.
import appCss from '../../dist/web/app.css?raw';
import appJs from '../../dist/web/app.js?raw';
import serviceWorkerJs from '../../dist/web/sw.js?raw';
import iconSvg from '../../web/icon.svg?raw';
import indexHtml from '../../web/index.html?raw';
import manifestJson from '../../web/manifest.webmanifest?raw';
import { pageHeaders } from './pageHeaders.js';
import { assetHandler, getHandler, serve, staticFile, type StaticFile } from './static.js';

// The names carry no version, so every file is revalidated: a deploy is seen at once, and an
// unchanged file costs a 304. The service worker keeps the shell for when there is no network.
const alwaysRevalidate = 'no-cache';

const nosniff = { 'x-content-type-options': 'nosniff' };

const pageFile = staticFile(indexHtml, 'text/html; charset=utf-8', alwaysRevalidate, pageHeaders);
const serviceWorkerFile = staticFile(serviceWorkerJs, 'text/javascript; charset=utf-8', alwaysRevalidate, nosniff);
const assets = new Map<string, StaticFile>([
  ['app.js', staticFile(appJs, 'text/javascript; charset=utf-8', alwaysRevalidate, nosniff)],
  ['app.css', staticFile(appCss, 'text/css; charset=utf-8', alwaysRevalidate, nosniff)],
  ['manifest.webmanifest', staticFile(manifestJson, 'application/manifest+json; charset=utf-8', alwaysRevalidate, nosniff)],
  ['icon.svg', staticFile(iconSvg, 'image/svg+xml; charset=utf-8', alwaysRevalidate, nosniff)],
]);

export const page = getHandler((event) => serve(pageFile, event));

export const serviceWorker = getHandler((event) => serve(serviceWorkerFile, event));

export const asset = assetHandler('/web', assets);
