// Files the gateway serves as they are (Swagger UI, the web page): bundled into the function as text,
// each with its ETag, answered 304 when the browser already holds it.
import { createHash } from 'node:crypto';
import middy from '@middy/core';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { HttpProblem, problemResponse } from '../lib/problem.js';

export interface StaticFile {
  body: string;
  contentType: string;
  cacheControl: string;
  etag: string;
  headers: Record<string, string>;
}

export function staticFile(body: string, contentType: string, cacheControl: string, headers: Record<string, string> = {}): StaticFile {
  const etag = `"${createHash('sha256').update(body).digest('base64url')}"`;
  return { body, contentType, cacheControl, etag, headers };
}

/** If-None-Match uses the weak comparison (RFC 9110, 13.1.2): `W/"x"` matches `"x"`. */
function matchesEtag(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((tag) => {
    const candidate = tag.trim();
    return candidate === '*' || candidate.replace(/^W\//, '') === etag;
  });
}

export function serve(file: StaticFile, event: APIGatewayProxyEventV2): APIGatewayProxyStructuredResultV2 {
  const cacheHeaders = { 'cache-control': file.cacheControl, etag: file.etag };
  if (matchesEtag(event.headers['if-none-match'], file.etag)) return { statusCode: 304, headers: cacheHeaders };
  return { statusCode: 200, headers: { 'content-type': file.contentType, ...cacheHeaders, ...file.headers }, body: file.body };
}

export function getHandler(respond: (event: APIGatewayProxyEventV2) => APIGatewayProxyStructuredResultV2) {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>()
    .use(httpHeaderNormalizer())
    .handler(async (event) => respond(event));
}

/** GET <folder>/{file}: a fixed table of names, never a path, so `../package.json` or `constructor` is simply not in it. */
export function assetHandler(folder: string, files: ReadonlyMap<string, StaticFile>) {
  return getHandler((event) => {
    const name = event.pathParameters?.file ?? '';
    const file = files.get(name);
    return file ? serve(file, event) : problemResponse(new HttpProblem(404, `${folder} has no file named ${JSON.stringify(name)}`));
  });
}
