// The desktop app's way to the shop: each /api request streamed to the gateway and its answer
// streamed back as it comes (the status stream is Server-Sent Events, never buffered), and a
// gateway that cannot be reached answered with a problem that says so in plain words.
// Its own small forwarder rather than the runner's: that one routes by service, counts bodies
// against API Gateway's limit and logs as a service; here there is one upstream, chosen at run time
// (http or https). What must not be passed on is decided by the one rule both share.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import { HttpProblem } from '../functions/lib/problem.js';
import { withoutHopByHop } from '../infra/http/hopByHop.js';

/** What a failed connection means to a person, by Node's error code. */
export function unreachableReason(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'nothing answers there (connection refused)';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'its host name is not known';
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'it cannot be reached on the network';
    case 'ECONNRESET':
    case 'EPIPE':
      return 'it dropped the connection';
    default:
      if (error.code?.startsWith('ERR_TLS') || /CERT|SSL/.test(error.code ?? '')) return `its certificate is not trusted (${error.code})`;
      return error.code ? `the connection failed (${error.code})` : error.message;
  }
}

/** A wait for a person: "800 ms", "3 s". */
const duration = (ms: number) => (ms < 1000 ? `${ms} ms` : `${Math.round(ms / 1000)} s`);

function cannotReach(gateway: string, reason: string): string {
  return `Shop cannot reach the gateway at ${gateway}: ${reason}. Check that the shop is running there, or change the address.`;
}

interface Forwarder {
  /** Streams `req` to `gateway` + its path; rejects with a 502 or 504 HttpProblem when no answer came */
  forward(req: IncomingMessage, res: ServerResponse, gateway: string): Promise<void>;
  close(): void;
}

export function createForwarder(options: { timeoutMs: number }): Forwarder {
  // Keep-alive, and a free socket dropped before the gateway's own idle timeout can close it under a request.
  const agents = { 'http:': new http.Agent({ keepAlive: true, timeout: 30_000 }), 'https:': new https.Agent({ keepAlive: true, timeout: 30_000 }) };

  function forward(req: IncomingMessage, res: ServerResponse, gateway: string): Promise<void> {
    const base = new URL(gateway);
    const secure = base.protocol === 'https:';
    return new Promise((resolve, reject) => {
      let answered = false;
      const upstream = (secure ? https : http).request({
        protocol: base.protocol,
        hostname: base.hostname.replace(/^\[|\]$/g, ''),
        port: base.port,
        method: req.method,
        path: base.pathname.replace(/\/$/, '') + (req.url ?? '/'),
        headers: {
          ...withoutHopByHop(req.headers),
          host: base.host,
          'x-forwarded-host': req.headers.host ?? '',
          'x-forwarded-proto': 'http',
        },
        agent: agents[secure ? 'https:' : 'http:'],
      });
      const fail = (problem: HttpProblem) => {
        if (answered) return;
        answered = true;
        clearTimeout(timer);
        upstream.destroy();
        reject(problem);
      };
      const timer = setTimeout(
        () => fail(new HttpProblem(504, `The gateway at ${gateway} did not answer within ${duration(options.timeoutMs)}. Try again in a moment.`)),
        options.timeoutMs,
      );
      upstream.on('error', (error: NodeJS.ErrnoException) => {
        if (!answered) fail(new HttpProblem(502, cannotReach(gateway, unreachableReason(error))));
        else res.destroy();
      });
      upstream.once('response', (answer) => {
        answered = true;
        clearTimeout(timer);
        res.writeHead(answer.statusCode ?? 502, withoutHopByHop(answer.headers));
        // Each chunk goes out as it arrives: an event stream's events reach the page at once.
        res.flushHeaders();
        answer.pipe(res);
        answer.once('end', resolve);
        answer.once('error', () => res.destroy());
      });
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
        clearTimeout(timer);
        resolve();
      });
      req.pipe(upstream);
    });
  }

  return {
    forward,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

export interface Reachability {
  reachable: boolean;
  /** A sentence for the page: what is wrong and what to do */
  detail: string;
}

/** Whether a Shop gateway answers at `gateway`: its GET /health, within `timeoutMs`. */
export function checkGateway(gateway: string, timeoutMs: number): Promise<Reachability> {
  const url = new URL(`${gateway}/health`);
  return new Promise((resolve) => {
    const request = (url.protocol === 'https:' ? https : http).get(url, { timeout: timeoutMs }, (response) => {
      response.resume();
      if (response.statusCode === 200) return resolve({ reachable: true, detail: `Connected to the gateway at ${gateway}.` });
      resolve({ reachable: false, detail: cannotReach(gateway, `something answers there, but not as a Shop gateway (GET /health: ${response.statusCode})`) });
    });
    request.once('timeout', () => {
      resolve({ reachable: false, detail: cannotReach(gateway, `it did not answer within ${duration(timeoutMs)}`) });
      request.destroy();
    });
    request.once('error', (error: NodeJS.ErrnoException) => resolve({ reachable: false, detail: cannotReach(gateway, unreachableReason(error)) }));
  });
}
