import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/freePort.js';
import { HttpProblem } from '../functions/lib/problem.js';
import { checkGateway, createForwarder, unreachableReason } from './forward.js';
import { startFakeGateway, type FakeGateway } from './testing/fakeGateway.js';

let gateway: FakeGateway;
let proxy: http.Server;
let proxyUrl: string;
let target: string;
const forwarder = createForwarder({ timeoutMs: 500 });

beforeAll(async () => {
  gateway = await startFakeGateway();
  target = gateway.url;
  // The forwarder alone, behind a bare server that writes its refusals as text.
  proxy = http.createServer((req, res) => {
    forwarder.forward(req, res, target).catch((problem: HttpProblem) => res.writeHead(problem.status).end(problem.message));
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  forwarder.close();
  proxy.closeAllConnections();
  await new Promise((resolve) => proxy.close(resolve));
  await gateway.close();
});

describe('forwarding to the gateway', () => {
  it('sends the method, path, query, headers and body, and brings back the answer without hop-by-hop headers', async () => {
    target = gateway.url;
    const response = await fetch(`${proxyUrl}/api/purchase?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1', connection: 'keep-alive' },
      body: '{"user_id":1}',
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-upstream')).toBe('fake');
    expect(response.headers.get('keep-alive')).not.toBe('timeout=99');
    const seen = await response.json();
    expect(seen).toMatchObject({ method: 'POST', url: '/api/purchase?x=1', body: '{"user_id":1}' });
    expect(seen.headers).toMatchObject({ host: new URL(gateway.url).host, 'idempotency-key': 'k-1', 'x-forwarded-host': new URL(proxyUrl).host });
  });

  it('puts a gateway under a path in front of the request path', async () => {
    target = `${gateway.url}/shop`;
    const seen = await (await fetch(`${proxyUrl}/api/wallet/1`)).json();
    expect(seen.url).toBe('/shop/api/wallet/1');
    target = gateway.url;
  });

  it('passes each event of a stream on as it comes, not when the stream ends', async () => {
    target = gateway.url;
    const response = await fetch(`${proxyUrl}/api/purchases/stream?user_id=1`);
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    const readUntil = async (needle: string) => {
      while (!text.includes(needle)) text += decoder.decode((await reader.read()).value);
    };
    await readUntil('retry: 1000');
    gateway.push('{"id":"a"}');
    await readUntil('data: {"id":"a"}');
    gateway.push('{"id":"b"}');
    await readUntil('data: {"id":"b"}');
    await reader.cancel();
    await expect.poll(() => gateway.streams).toBe(0);
  });

  it('says in plain words that the gateway cannot be reached, with a 502', async () => {
    const closed = await freePort();
    target = `http://127.0.0.1:${closed}`;
    const response = await fetch(`${proxyUrl}/api/wallet/1`);
    expect(response.status).toBe(502);
    expect(await response.text()).toBe(
      `Shop cannot reach the gateway at http://127.0.0.1:${closed}: nothing answers there (connection refused). Check that the shop is running there, or change the address.`,
    );
    target = gateway.url;
  });

  it('answers 504 when the gateway does not begin its answer in time', async () => {
    target = gateway.url;
    const response = await fetch(`${proxyUrl}/api/slow`);
    expect(response.status).toBe(504);
    expect(await response.text()).toBe(`The gateway at ${gateway.url} did not answer within 500 ms. Try again in a moment.`);
  });
});

describe('why a connection failed, for a person', () => {
  it.each([
    ['ECONNREFUSED', 'nothing answers there (connection refused)'],
    ['ENOTFOUND', 'its host name is not known'],
    ['EHOSTUNREACH', 'it cannot be reached on the network'],
    ['ECONNRESET', 'it dropped the connection'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'its certificate is not trusted (ERR_TLS_CERT_ALTNAME_INVALID)'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'its certificate is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)'],
    ['EWHATEVER', 'the connection failed (EWHATEVER)'],
  ])('%s: %s', (code, reason) => {
    expect(unreachableReason(Object.assign(new Error('x'), { code }))).toBe(reason);
  });
});

describe('the reachability check', () => {
  it("is reachable when the gateway's /health answers 200", async () => {
    expect(await checkGateway(gateway.url, 1000)).toEqual({ reachable: true, detail: `Connected to the gateway at ${gateway.url}.` });
  });

  it('names what is wrong when nothing answers, or something that is not a Shop gateway', async () => {
    const closed = await freePort();
    expect(await checkGateway(`http://127.0.0.1:${closed}`, 1000)).toEqual({
      reachable: false,
      detail: `Shop cannot reach the gateway at http://127.0.0.1:${closed}: nothing answers there (connection refused). Check that the shop is running there, or change the address.`,
    });
    const notShop = await checkGateway(`${gateway.url}/elsewhere`, 1000);
    expect(notShop.reachable).toBe(false);
    expect(notShop.detail).toContain('something answers there, but not as a Shop gateway (GET /health: 201)');
  });

  it('gives up after its timeout', async () => {
    const silent = http.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    expect((await checkGateway(url, 300)).detail).toBe(`Shop cannot reach the gateway at ${url}: it did not answer within 300 ms. Check that the shop is running there, or change the address.`);
    silent.closeAllConnections();
    silent.close();
  });
});
