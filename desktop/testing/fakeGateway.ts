// A stand-in for the shop's gateway in the desktop's module tests: answers /health, echoes what it
// was sent, streams events one at a time, and can keep a request waiting.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeGateway {
  url: string;
  /** Sends one event to every open stream */
  push(data: string): void;
  readonly streams: number;
  close(): Promise<void>;
}

export async function startFakeGateway(): Promise<FakeGateway> {
  const streams = new Set<ServerResponse>();
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    if (req.url === '/health') return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    if (req.url?.startsWith('/api/purchases/stream')) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write('retry: 1000\n\n');
      streams.add(res);
      res.once('close', () => streams.delete(res));
      return;
    }
    if (req.url === '/api/slow') return; // never answered
    res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'fake', 'keep-alive': 'timeout=99' });
    res.end(JSON.stringify({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') }));
  };
  const server = http.createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    push: (data) => streams.forEach((res) => res.write(`event: status\ndata: ${data}\n\n`)),
    get streams() {
      return streams.size;
    },
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
