import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ProblemBody } from '../../functions/lib/problem.js';
import type { HttpFunction, Route } from './routes.js';
import { createHttpHost, type HttpHost, type HttpHostOptions } from './server.js';

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: Buffer; text: string }

const hosts: HttpHost[] = [];
const servers: http.Server[] = [];

afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(hosts.splice(0).map((host) => host.close(100)));
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

async function start(routes: Route[], options?: HttpHostOptions): Promise<{ host: HttpHost; port: number }> {
  const host = createHttpHost(routes, options);
  hosts.push(host);
  return { host, port: await host.listen(0, '127.0.0.1') };
}

/** A plain node:http server standing in for another service; counts the connections it accepts. */
async function startUpstream(listener: http.RequestListener): Promise<{ url: string; connections: () => number }> {
  const server = http.createServer(listener);
  servers.push(server);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function local(method: string, path: string, handler: HttpFunction, name = 'testFunction'): Route {
  return { method, path, name, handler };
}

function readReply(res: http.IncomingMessage): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString() });
    });
    res.on('error', reject);
  });
}

function send(
  port: number,
  path: string,
  options: { method?: string; headers?: http.OutgoingHttpHeaders; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: options.agent ?? false },
      (res) => readReply(res).then(resolve, reject),
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

const problemOf = (reply: Reply): ProblemBody => JSON.parse(reply.text) as ProblemBody;

describe('local routes', () => {
  it('answers 404, 405 with Allow, and 400 as problem+json', async () => {
    const ok = async () => ({ statusCode: 204 });
    const { port } = await start([local('GET', '/api/wallet/{user_id}', ok), local('PUT', '/api/wallet/{user_id}', ok)]);

    const missing = await send(port, '/api/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    expect(problemOf(missing).detail).toContain('/api/nowhere');

    const wrongMethod = await send(port, '/api/wallet/u1', { method: 'DELETE' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.allow).toBe('GET, PUT');
    expect(problemOf(wrongMethod).status).toBe(405);

    const malformed = await send(port, '/api/wallet/%zz');
    expect(malformed.status).toBe(400);
    expect(malformed.headers['content-type']).toBe('application/problem+json');
  });

  it('gives the function the event API Gateway would send, and a Lambda context', async () => {
    const calls: { event: APIGatewayProxyEventV2; context: Context }[] = [];
    const capture: HttpFunction = async (event, context) => {
      calls.push({ event, context });
      return { statusCode: 204 };
    };
    const { port } = await start([local('GET', '/api/wallet/{user_id}', capture, 'getWallet'), local('POST', '/echo', capture, 'echo')]);
    const before = Date.now();

    await send(port, '/api/wallet/u%201?b=x%20y&a=1&a=2', {
      headers: { 'X-Custom': ['one', 'two'], Cookie: 'session=abc; theme=dark', 'User-Agent': 'vitest' },
    });
    const { event, context } = calls[0]!;
    expect(event).toMatchObject({
      version: '2.0',
      routeKey: 'GET /api/wallet/{user_id}',
      rawPath: '/api/wallet/u%201',
      rawQueryString: 'b=x%20y&a=1&a=2',
      cookies: ['session=abc', 'theme=dark'],
      queryStringParameters: { b: 'x y', a: '1,2' },
      pathParameters: { user_id: 'u 1' },
      isBase64Encoded: false,
      requestContext: {
        accountId: 'offline',
        domainName: `127.0.0.1:${port}`,
        http: { method: 'GET', path: '/api/wallet/u%201', protocol: 'HTTP/1.1', sourceIp: '127.0.0.1', userAgent: 'vitest' },
        routeKey: 'GET /api/wallet/{user_id}',
        stage: '$default',
      },
    });
    expect(event.headers).toMatchObject({ 'x-custom': 'one,two', 'user-agent': 'vitest', host: `127.0.0.1:${port}` });
    expect(event.body).toBeUndefined();
    expect(event.requestContext.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.requestContext.timeEpoch).toBeGreaterThanOrEqual(before);
    expect(event.requestContext.time).toMatch(/^\d\d\/[A-Z][a-z]{2}\/\d{4}:\d\d:\d\d:\d\d \+0000$/);
    expect(context.functionName).toBe('getWallet');
    expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);

    await send(port, '/echo', { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: '{"amount":"1.50"}' });
    await send(port, '/echo', { method: 'POST', headers: { 'content-type': 'application/problem+json' }, body: '{"é":1}' });
    await send(port, '/echo', { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: Buffer.from([0, 255, 1]) });
    const [, json, problem, binary] = calls.map((call) => call.event);
    expect(json).toMatchObject({ body: '{"amount":"1.50"}', isBase64Encoded: false });
    expect(json).not.toHaveProperty('queryStringParameters');
    expect(json).not.toHaveProperty('pathParameters');
    expect(json).not.toHaveProperty('cookies');
    expect(problem).toMatchObject({ body: '{"é":1}', isBase64Encoded: false });
    expect(binary).toMatchObject({ body: 'AP8B', isBase64Encoded: true });
  });

  it('writes the function result back: status, headers, cookies, text or base64 body', async () => {
    const { port } = await start([
      local('POST', '/created', async () => ({
        statusCode: 201,
        headers: { 'content-type': 'text/plain', 'x-count': 3 },
        cookies: ['session=abc; HttpOnly', 'theme=dark'],
        body: 'created',
      })),
      local('GET', '/bytes', async () => ({ statusCode: 200, isBase64Encoded: true, body: Buffer.from([0, 255]).toString('base64') })),
    ]);

    const created = await send(port, '/created', { method: 'POST' });
    expect(created.status).toBe(201);
    expect(created.headers).toMatchObject({ 'content-type': 'text/plain', 'x-count': '3' });
    expect(created.headers['set-cookie']).toEqual(['session=abc; HttpOnly', 'theme=dark']);
    expect(created.text).toBe('created');

    const bytes = await send(port, '/bytes');
    expect([...bytes.body]).toEqual([0, 255]);
  });

  it('answers a plain object or a string as 200 application/json, as API Gateway does', async () => {
    const plainObject = async () => ({ balance: '10.00' }) as never;
    const { port } = await start([local('GET', '/object', plainObject), local('GET', '/string', async () => '"hello"')]);

    const object = await send(port, '/object');
    expect(object.status).toBe(200);
    expect(object.headers['content-type']).toBe('application/json');
    expect(JSON.parse(object.text)).toEqual({ balance: '10.00' });

    const string = await send(port, '/string');
    expect(string.status).toBe(200);
    expect(string.headers['content-type']).toBe('application/json');
    expect(string.text).toBe('"hello"');
  });

  it('answers 413 at once when content-length exceeds the limit, without waiting for the body', async () => {
    const handler = vi.fn(async () => ({ statusCode: 204 }));
    const { port } = await start([local('POST', '/upload', handler)], { bodyLimit: 16 });

    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', headers: { 'content-length': 1000 }, agent: false });
      req.on('response', (res) => readReply(res).then(resolve, reject));
      req.on('error', reject);
      req.flushHeaders();
    });
    expect(reply.status).toBe(413);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(reply.headers.connection).toBe('close');
    expect(handler).not.toHaveBeenCalled();
  }, 3_000);

  it('answers 413 as soon as a streamed body passes the limit, and accepts one at the limit', async () => {
    const handler = vi.fn(async (event: APIGatewayProxyEventV2) => ({ statusCode: 200, body: event.body }));
    const { port } = await start([local('POST', '/upload', handler)], { bodyLimit: 16 });

    const reply = await new Promise<Reply>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/upload', method: 'POST', headers: { 'content-type': 'text/plain' }, agent: false });
      req.on('response', (res) => {
        readReply(res).then(resolve, reject);
        req.destroy();
      });
      req.on('error', () => {}); // the server closes the connection while this request is still open
      req.write('0123456789');
      req.write('0123456789');
    });
    expect(reply.status).toBe(413);
    expect(handler).not.toHaveBeenCalled();

    const atLimit = await send(port, '/upload', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '0123456789abcdef' });
    expect(atLimit.status).toBe(200);
    expect(atLimit.text).toBe('0123456789abcdef');
  }, 3_000);

  it('turns a throwing function into a 500 problem without the error or its stack, and logs it', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const failing = async (): Promise<never> => {
      throw new Error('password authentication failed for user "shop"');
    };
    const { port } = await start([local('GET', '/fail', failing, 'getWallet')]);

    const reply = await send(port, '/fail');
    expect(reply.status).toBe(500);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(problemOf(reply)).toMatchObject({ status: 500, title: 'Internal Server Error' });
    expect(reply.text).not.toContain('password');
    expect(reply.text).not.toMatch(/\bat\s/);
    const logged = stderr.mock.calls.map(([line]) => JSON.parse(String(line)) as Record<string, unknown>);
    expect(logged).toContainEqual(expect.objectContaining({ level: 'error', function: 'getWallet', error: expect.stringContaining('password') }));
  });
});

describe('proxy routes', () => {
  it('forwards method, path, query, headers and body, and returns the upstream answer', async () => {
    const seen: { method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
    const upstream = await startUpstream((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
        res.writeHead(201, { 'content-type': 'application/json', 'x-upstream': 'payments', 'set-cookie': ['a=1', 'b=2'] });
        res.write('{"balance":');
        res.end('"11.50"}');
      });
    });
    const { port } = await start([{ method: 'POST', path: '/api/wallet/{user_id}/deposit', name: 'deposit', upstream: upstream.url }]);

    const reply = await send(port, '/api/wallet/u%201/deposit?dry=1&x=2', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-request-id': 'r-1', connection: 'x-hop', 'x-hop': 'drop me', 'proxy-authorization': 'secret' },
      body: '{"amount":"1.50"}',
    });

    expect(reply.status).toBe(201);
    expect(reply.headers).toMatchObject({ 'content-type': 'application/json', 'x-upstream': 'payments' });
    expect(reply.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(reply.text).toBe('{"balance":"11.50"}');
    const [request] = seen;
    expect(request).toMatchObject({ method: 'POST', url: '/api/wallet/u%201/deposit?dry=1&x=2', body: '{"amount":"1.50"}' });
    expect(request!.headers).toMatchObject({
      'content-type': 'application/json',
      'x-request-id': 'r-1',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': `127.0.0.1:${port}`,
      host: upstream.url.replace('http://', ''),
    });
    expect(request!.headers).not.toHaveProperty('x-hop');
    expect(request!.headers).not.toHaveProperty('proxy-authorization');
  });

  it('streams the body both ways instead of buffering it', async () => {
    const upstream = await startUpstream((req, res) => {
      req.once('data', () => {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('pong');
        req.on('end', () => res.end('!'));
        req.resume();
      });
    });
    const { port } = await start([{ method: 'POST', path: '/stream', name: 'stream', upstream: upstream.url }]);

    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/stream', method: 'POST', agent: false });
      req.on('error', reject);
      req.on('response', (res) => {
        let received = '';
        res.on('data', (chunk: Buffer) => {
          received += chunk.toString();
          if (received === 'pong') req.end(); // only now does the request body end
        });
        res.on('end', () => resolve(received));
      });
      req.write('ping');
    });
    expect(text).toBe('pong!');
  }, 3_000);

  it('reuses keep-alive connections to the upstream', async () => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    const { port } = await start([{ method: 'GET', path: '/api/purchases', name: 'listPurchases', upstream: upstream.url }]);

    for (let i = 0; i < 5; i++) expect((await send(port, '/api/purchases')).status).toBe(200);
    expect(upstream.connections()).toBe(1);
  });

  it('answers 413 itself for a body over the limit, without sending it to the upstream', async () => {
    const upstream = await startUpstream((_req, res) => res.end('ok'));
    const { port } = await start([{ method: 'POST', path: '/api/purchase', name: 'createPurchase', upstream: upstream.url }], { bodyLimit: 16 });

    const reply = await send(port, '/api/purchase', { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(17) });
    expect(reply.status).toBe(413);
    expect(reply.headers.connection).toBe('close');
    expect(upstream.connections()).toBe(0);
    expect((await send(port, '/api/purchase', { method: 'POST', body: 'x'.repeat(16) })).text).toBe('ok');
  });

  it('answers 413 itself for a streamed body without a length once it passes the limit', async () => {
    // An upstream that refuses a large body at once and closes, as the services do.
    const upstream = await startUpstream((req, res) => {
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > 1024) {
          res.writeHead(413, { connection: 'close' });
          res.end();
          req.socket.destroy();
        }
      });
      req.on('end', () => res.end('ok'));
    });
    const { port } = await start([{ method: 'POST', path: '/api/purchase', name: 'createPurchase', upstream: upstream.url }], { bodyLimit: 1024 });

    const statuses = await Promise.all(
      Array.from({ length: 20 }, () =>
        new Promise<number>((resolve, reject) => {
          const req = http.request({ host: '127.0.0.1', port, path: '/api/purchase', method: 'POST', agent: false });
          req.on('error', reject);
          req.on('response', (res) => {
            res.resume();
            resolve(res.statusCode!);
          });
          for (let i = 0; i < 64; i++) req.write('x'.repeat(1024));
          req.end();
        }),
      ),
    );
    expect(new Set(statuses)).toEqual(new Set([413]));
  });

  it('answers 502 naming the upstream when it refuses the connection', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((resolve) => closed.close(resolve));
    const { port } = await start([{ method: 'GET', path: '/api/wallet/{user_id}', name: 'getWallet', upstream: url }]);

    const reply = await send(port, '/api/wallet/u1');
    expect(reply.status).toBe(502);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(problemOf(reply).detail).toContain(url);
    expect(reply.text).not.toMatch(/\bat\s/);
  });

  it('answers 504 when the upstream does not answer in time, and abandons the upstream request', async () => {
    let upstreamRequestClosed!: Promise<void>;
    const upstream = await startUpstream((req) => {
      upstreamRequestClosed = new Promise((resolve) => req.socket.once('close', () => resolve()));
    });
    const { port } = await start([{ method: 'GET', path: '/slow', name: 'slow', upstream: upstream.url }], { upstreamTimeoutMs: 200 });

    const started = Date.now();
    const reply = await send(port, '/slow');
    expect(reply.status).toBe(504);
    expect(reply.headers['content-type']).toBe('application/problem+json');
    expect(problemOf(reply).detail).toContain(upstream.url);
    expect(Date.now() - started).toBeLessThan(2_000);
    await upstreamRequestClosed;
  }, 3_000);

  it('aborts the upstream request when the client goes away', async () => {
    let clientRequest!: http.ClientRequest;
    const upstreamRequestClosed = new Promise<void>((resolve) => {
      void startUpstream((req) => {
        req.socket.once('close', () => resolve());
        clientRequest.destroy();
      }).then(async (upstream) => {
        const { port } = await start([{ method: 'GET', path: '/slow', name: 'slow', upstream: upstream.url }], { upstreamTimeoutMs: 10_000 });
        clientRequest = http.request({ host: '127.0.0.1', port, path: '/slow', agent: false });
        clientRequest.on('error', () => {});
        clientRequest.end();
      });
    });
    await upstreamRequestClosed;
  }, 3_000);
});

describe('server', () => {
  it('keeps idle connections for 65 s, beyond a load balancer idle timeout', async () => {
    const { port } = await start([local('GET', '/ok', async () => ({ statusCode: 204 }))]);
    const agent = new http.Agent({ keepAlive: true });
    const reply = await send(port, '/ok', { agent });
    expect(reply.headers['keep-alive']).toBe('timeout=65');
    agent.destroy();
  });
});

describe('close', () => {
  function slowRoute(): { route: Route; entered: Promise<void>; release: () => void } {
    let release!: () => void;
    let enter!: () => void;
    const entered = new Promise<void>((resolve) => (enter = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    const route = local('GET', '/slow', async () => {
      enter();
      await released;
      return { statusCode: 200, body: 'done' };
    });
    return { route, entered, release };
  }

  it('lets an in-flight request finish with connection: close while refusing new connections', async () => {
    const slow = slowRoute();
    const { host, port } = await start([slow.route]);
    const agent = new http.Agent({ keepAlive: true });
    const inFlight = send(port, '/slow', { agent });
    await slow.entered;

    const closed = host.close(5_000);
    await expect(send(port, '/slow')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    slow.release();
    const reply = await inFlight;
    expect(reply).toMatchObject({ status: 200, text: 'done' });
    expect(reply.headers.connection).toBe('close');
    await closed;
    agent.destroy();
  });

  it('does not wait for idle keep-alive connections', async () => {
    const { host, port } = await start([local('GET', '/ok', async () => ({ statusCode: 204 }))]);
    const agent = new http.Agent({ keepAlive: true });
    await send(port, '/ok', { agent });

    const started = Date.now();
    await host.close(10_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    agent.destroy();
  });

  it('destroys what is still open after the timeout', async () => {
    const slow = slowRoute();
    const { host, port } = await start([slow.route]);
    const inFlight = send(port, '/slow');
    await slow.entered;

    const started = Date.now();
    await host.close(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await expect(inFlight).rejects.toMatchObject({ code: 'ECONNRESET' });
    slow.release();
  }, 3_000);
});
