// A route served by the service that owns it: the request is streamed there and its answer back,
// without hop-by-hop headers; a service that is down is a 502, one that does not answer in time a 504.
import http, { type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import { log } from '../../functions/lib/log.js';
import { HttpProblem } from '../../functions/lib/problem.js';
import { clientAddress, tooLarge } from './apiGateway.js';
import { withoutHopByHop } from './hopByHop.js';
import type { ProxyRoute } from './routes.js';

function forwardedHeaders(req: IncomingMessage, url: URL): OutgoingHttpHeaders {
  const headers = withoutHopByHop(req.headers);
  delete headers.host;
  return {
    ...headers,
    'x-forwarded-for': [req.headers['x-forwarded-for'], clientAddress(req)].filter(Boolean).join(', '),
    'x-forwarded-proto': 'http',
    'x-forwarded-host': url.host,
  };
}

/** Streams the request to the route's upstream and its answer back; rejects with a 502 or 504 problem. */
export function forward(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  route: ProxyRoute,
  agent: http.Agent,
  timeoutMs: number,
  bodyLimit: number,
): Promise<void> {
  const upstream = new URL(route.upstream);
  return new Promise((resolve, reject) => {
    let answered = false;
    const upstreamReq = http.request({
      hostname: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: url.pathname + url.search,
      headers: forwardedHeaders(req, url),
      agent,
    });
    const fail = (status: number, detail: string): void => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      log.warn('http.upstream_failed', { route: route.name, upstream: route.upstream, status, detail });
      reject(new HttpProblem(status, detail, { headers: { connection: 'close' } }));
    };
    // A streamed body without a length: count it on the way, and refuse it here once it passes the
    // limit, before the service's own refusal reaches the proxy as a broken pipe.
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent <= bodyLimit || answered) return;
      req.unpipe(upstreamReq);
      upstreamReq.destroy();
      answered = true;
      clearTimeout(timer);
      reject(tooLarge(bodyLimit));
    });
    const timer = setTimeout(() => {
      fail(504, `${route.upstream} did not answer within ${timeoutMs} ms`);
      upstreamReq.destroy();
    }, timeoutMs);
    upstreamReq.on('error', (error: NodeJS.ErrnoException) => fail(502, `${route.upstream} is unavailable (${error.code ?? error.message})`));
    upstreamReq.once('response', (upstreamRes) => {
      answered = true;
      clearTimeout(timer);
      res.writeHead(upstreamRes.statusCode ?? 502, withoutHopByHop(upstreamRes.headers));
      // pipe, not stream.pipeline: this runs for every request, and pipeline makes and aborts an
      // AbortController each time. A failure of either side ends both, below.
      upstreamRes.pipe(res);
      upstreamRes.once('error', (error) => {
        res.destroy(error);
        reject(error);
      });
      res.once('finish', resolve);
    });
    res.once('close', () => {
      if (res.writableFinished) return;
      answered = true;
      clearTimeout(timer);
      upstreamReq.destroy();
      resolve();
    });
    req.pipe(upstreamReq);
  });
}

