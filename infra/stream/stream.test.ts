// The status stream piece by piece: the feed's numbering, replay and gaps; the Server-Sent Events
// route on a real HTTP host; and the gateway's own queue on the real RabbitMQ.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Payloads } from '../../functions/lib/messages.js';
import { deleteNamespace, withChannel } from '../../test/support/broker.js';
import { expectMatchesSchema, expectResponseMatchesSpec } from '../../test/support/contract.js';
import { amqpUrl, uniqueName } from '../../test/support/db.js';
import { waitFor } from '../../test/support/system.js';
import { createHttpHost, type HttpHost } from '../http/server.js';
import { streams as streamSpecs } from '../manifest.js';
import { createStatusFeed, eventId, type StatusFeed } from './feed.js';
import { startStatusStream, type StatusStreamHost } from './host.js';
import { createStatusStream, type StatusStream, type StatusStreamOptions } from './sse.js';

const statusStreamRoute = streamSpecs.find((s) => s.name === 'streamPurchases')!;

type Change = Payloads['order.status_changed'];

function change(userId: number, status: 'FINISHED' | 'CANCELLED' = 'FINISHED'): Change {
  return {
    order_id: randomUUID(),
    user_id: userId,
    amount: '12.30',
    status,
    reason: status === 'CANCELLED' ? 'insufficient_funds' : null,
    updated_at: new Date().toISOString(),
  };
}

interface SseEvent { id?: string; event?: string; data?: string; retry?: string }

/** An event-stream reader: the events and comments so far, as a browser's EventSource would parse them. */
interface Reader {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  comments: string[];
  body: string;
  ended: Promise<void>;
  close(): void;
}

function read(port: number, path: string, headers: http.OutgoingHttpHeaders = {}): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      let buffer = '';
      const reader: Reader = {
        status: res.statusCode ?? 0,
        headers: res.headers,
        events: [],
        comments: [],
        body: '',
        ended: new Promise((done) => res.once('close', () => done())),
        close: () => req.destroy(),
      };
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        reader.body += chunk;
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const event: SseEvent = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) reader.comments.push(line.slice(1).trim());
            else {
              const [, field, value] = /^(\w+): ?(.*)$/.exec(line) ?? [];
              if (field) event[field as keyof SseEvent] = value;
            }
          }
          if (Object.keys(event).length) reader.events.push(event);
        }
      });
      res.on('error', () => undefined);
      resolve(reader);
    });
    req.on('error', reject);
  });
}

const hosts: HttpHost[] = [];
const streams: StatusStream[] = [];
const readers: Reader[] = [];

afterEach(async () => {
  readers.splice(0).forEach((r) => r.close());
  streams.splice(0).forEach((s) => s.end());
  await Promise.all(hosts.splice(0).map((h) => h.close(100)));
});

async function serve(feed: StatusFeed, options: StatusStreamOptions = {}): Promise<{ port: number; stream: StatusStream; host: HttpHost }> {
  const stream = createStatusStream(feed, options);
  streams.push(stream);
  const host = createHttpHost([{ ...statusStreamRoute, stream: stream.serve }]);
  hosts.push(host);
  return { port: await host.listen(0, '127.0.0.1'), stream, host };
}

async function open(port: number, path: string = statusStreamRoute.path, headers: http.OutgoingHttpHeaders = {}): Promise<Reader> {
  const reader = await read(port, path, headers);
  readers.push(reader);
  return reader;
}

const ofType = (reader: Reader, type: string) => reader.events.filter((e) => e.event === type);

describe('the status feed', () => {
  it('numbers changes and gaps, and replays what followed an id of its own', () => {
    const feed = createStatusFeed();
    expect(feed.seq).toBe(0);
    const first = change(1);
    const second = change(2);
    feed.publish('m1', first);
    feed.publish('m2', second);
    expect(feed.seq).toBe(2);
    expect(feed.instance).toMatch(/^[0-9a-f]{8}$/);
    expect(feed.replay(eventId(feed.instance, 0))?.map((e) => e.change)).toEqual([first, second]);
    expect(feed.replay(eventId(feed.instance, 1))?.map((e) => [e.seq, e.messageId])).toEqual([[2, 'm2']]);
    expect(feed.replay(eventId(feed.instance, 2))).toEqual([]);
  });

  it('cannot replay across a gap, from another process, from an id it never gave, or from beyond its buffer', () => {
    const feed = createStatusFeed(2);
    feed.publish('m1', change(1));
    const before = eventId(feed.instance, feed.seq);
    feed.gap();
    feed.publish('m2', change(1));
    expect(feed.replay(before)).toBeUndefined();
    expect(feed.replay(eventId(feed.instance, 2))).toHaveLength(1);

    for (const id of ['0badf00d-1', `${feed.instance}-99`, `${feed.instance}-01`, `${feed.instance}`, '', 'x'.repeat(300)]) {
      expect(feed.replay(id), id).toBeUndefined();
    }
    feed.publish('m3', change(1));
    feed.publish('m4', change(1)); // the buffer now holds 4 and 5 only
    expect(feed.replay(eventId(feed.instance, 2))).toBeUndefined();
    expect(feed.replay(eventId(feed.instance, 3))?.map((e) => e.messageId)).toEqual(['m3', 'm4']);
  });

  it('drops a message it already has (the relay publishes at least once), and tells its listeners the rest', () => {
    const feed = createStatusFeed(2);
    const heard: number[] = [];
    const unsubscribe = feed.subscribe((entry) => heard.push(entry.seq));
    expect(feed.publish('m1', change(1))).toBe(true);
    expect(feed.publish('m1', change(1))).toBe(false);
    feed.gap();
    unsubscribe();
    feed.publish('m2', change(1));
    expect(heard).toEqual([1, 2]);
    // Out of the buffer, out of mind: a copy that late is taken as new (the page merges it harmlessly).
    feed.publish('m3', change(1));
    expect(feed.publish('m1', change(1))).toBe(true);
  });
});

describe('GET /api/purchases/stream on the HTTP host', () => {
  it('opens with `retry` and `ready`, then streams the changes of the chosen user only', async () => {
    const feed = createStatusFeed();
    const { port } = await serve(feed);
    const reader = await open(port, `${statusStreamRoute.path}?user_id=7`);
    expect(reader.status).toBe(200);
    expect(reader.headers).toMatchObject({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'close' });
    await waitFor('ready', async () => ofType(reader, 'ready').length === 1);
    expectResponseMatchesSpec('streamPurchases', reader.status, reader.headers['content-type'], reader.body);
    expect(reader.events[0]).toEqual({ retry: '1000' });
    expect(ofType(reader, 'ready')[0]).toEqual({ id: eventId(feed.instance, 0), event: 'ready', data: '{"resumed":false}' });

    const mine = change(7, 'CANCELLED');
    feed.publish('m1', change(8));
    feed.publish('m2', mine);
    await waitFor('the change', async () => ofType(reader, 'status').length === 1);
    const [status] = ofType(reader, 'status');
    expect(status!.id).toBe(eventId(feed.instance, 2));
    expect(status!.data).toBe(
      `{"id":"${mine.order_id}","user_id":7,"amount":12.30,"status":"CANCELLED","reason":"insufficient_funds","updated_at":"${mine.updated_at}"}`,
    );
    expectMatchesSchema('PurchaseStatusChange', JSON.parse(status!.data!));
  });

  it('replays what a reconnecting client missed after its Last-Event-ID, then says it resumed', async () => {
    const feed = createStatusFeed();
    const { port } = await serve(feed);
    feed.publish('m1', change(1));
    const seen = eventId(feed.instance, feed.seq);
    const missed = [change(1), change(2), change(1)];
    missed.forEach((c, i) => feed.publish(`m${i + 2}`, c));

    const everyone = await open(port, statusStreamRoute.path, { 'last-event-id': seen });
    await waitFor('ready', async () => ofType(everyone, 'ready').length === 1);
    expect(ofType(everyone, 'status').map((e) => JSON.parse(e.data!).id)).toEqual(missed.map((c) => c.order_id));
    expect(ofType(everyone, 'ready')[0]).toEqual({ id: eventId(feed.instance, 4), event: 'ready', data: '{"resumed":true}' });

    const userOne = await open(port, `${statusStreamRoute.path}?user_id=1`, { 'last-event-id': seen });
    await waitFor('ready', async () => ofType(userOne, 'ready').length === 1);
    expect(ofType(userOne, 'status').map((e) => e.id)).toEqual([eventId(feed.instance, 2), eventId(feed.instance, 4)]);

    const stranger = await open(port, statusStreamRoute.path, { 'last-event-id': '0badf00d-3' });
    await waitFor('ready', async () => ofType(stranger, 'ready').length === 1);
    expect(ofType(stranger, 'status')).toEqual([]);
    expect(ofType(stranger, 'ready')[0]!.data).toBe('{"resumed":false}');
  });

  it('tells open streams to resync after a gap, and keeps them alive with comments', async () => {
    const feed = createStatusFeed();
    const { port } = await serve(feed, { heartbeatMs: 20 });
    const reader = await open(port, `${statusStreamRoute.path}?user_id=3`);
    await waitFor('ready', async () => ofType(reader, 'ready').length === 1);
    feed.gap();
    await waitFor('resync', async () => ofType(reader, 'resync').length === 1);
    expect(ofType(reader, 'resync')[0]).toEqual({ id: eventId(feed.instance, 1), event: 'resync', data: '{}' });
    await waitFor('a heartbeat', async () => reader.comments.includes('ping'));
  });

  it('answers a bad query with a problem naming the parameter, before any stream starts', async () => {
    const { port } = await serve(createStatusFeed());
    for (const [query, name] of [['user_id=abc', 'user_id'], ['user_id=0', 'user_id'], ['user_id=1.5', 'user_id'], ['user_id=1&user_id=2', 'user_id'], ['cursor=x', 'cursor']]) {
      const reader = await open(port, `${statusStreamRoute.path}?${query}`);
      await reader.ended;
      expect(reader.status, query).toBe(400);
      expect(reader.headers['content-type']).toBe('application/problem+json');
      const problem = JSON.parse(reader.body) as { errors: { name: string }[] };
      expect(problem.errors.map((e) => e.name), query).toEqual([name]);
      expectResponseMatchesSpec('streamPurchases', reader.status, reader.headers['content-type'], problem);
    }
  });

  it('ends every open stream at once when it ends, so the host closes without waiting; later ones get 503', async () => {
    const feed = createStatusFeed();
    const { port, stream, host } = await serve(feed);
    const readersOpen = await Promise.all([open(port), open(port, `${statusStreamRoute.path}?user_id=1`)]);
    await waitFor('ready', async () => readersOpen.every((r) => ofType(r, 'ready').length === 1));

    const started = Date.now();
    stream.end();
    await host.close(10_000);
    await Promise.all(readersOpen.map((r) => r.ended));
    expect(Date.now() - started).toBeLessThan(1_000);

    const late = createHttpHost([{ ...statusStreamRoute, stream: stream.serve }]);
    hosts.push(late);
    const refused = await open(await late.listen(0, '127.0.0.1'));
    await refused.ended;
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expectResponseMatchesSpec('streamPurchases', refused.status, refused.headers['content-type'], JSON.parse(refused.body));
  });
});

describe('the gateway\'s own queue on RabbitMQ', () => {
  const namespace = uniqueName('status_stream');
  const started: StatusStreamHost[] = [];

  afterAll(async () => {
    await Promise.all(started.map((s) => s.stop()));
    await deleteNamespace(namespace);
  });

  async function startHost(): Promise<{ host: StatusStreamHost; feed: StatusFeed }> {
    const feed = createStatusFeed();
    const host = await startStatusStream({ spec: statusStreamRoute, feed, amqpUrl, namespace });
    started.push(host);
    // The first gap marks the moment its queue was bound: from then on it misses nothing.
    await waitFor('the queue to be bound', async () => feed.seq >= 1);
    return { host, feed };
  }

  async function publish(body: string, messageId = randomUUID()): Promise<void> {
    await withChannel(async (ch) => {
      ch.publish(namespace, 'order.status_changed', Buffer.from(body), { messageId, persistent: true });
    });
  }

  const statusChanged = (payload: Change, messageId = randomUUID()) =>
    publish(JSON.stringify({ message_id: messageId, type: 'order.status_changed', occurred_at: new Date().toISOString(), payload }), messageId);

  const changesIn = (feed: StatusFeed) => feed.replay(eventId(feed.instance, 1))?.map((e) => e.change) ?? [];

  it('gives every gateway every change (each has a queue of its own), ignores what is not a status change, and stops on stop', async () => {
    const [one, two] = [await startHost(), await startHost()];
    const paid = change(5);
    await publish('not json');
    await statusChanged(paid);
    for (const { feed } of [one, two]) {
      await waitFor('the change', async () => changesIn(feed).length === 1);
      expect(changesIn(feed)).toEqual([paid]);
    }

    const reader = await read(await listenOn(one.host), `${statusStreamRoute.path}?user_id=5`, { 'last-event-id': eventId(one.feed.instance, 1) });
    readers.push(reader);
    await waitFor('ready', async () => ofType(reader, 'ready').length === 1);
    expect(ofType(reader, 'status').map((e) => JSON.parse(e.data!).id)).toEqual([paid.order_id]);

    await one.host.stop();
    await reader.ended;
    // The stopped gateway's queue went with its connection: the next change reaches the other only.
    const later = change(5);
    await statusChanged(later);
    await waitFor('the later change', async () => changesIn(two.feed).length === 2);
    expect(changesIn(one.feed)).toEqual([paid]);
  });

  async function listenOn(host: StatusStreamHost): Promise<number> {
    const server = createHttpHost([host.route]);
    hosts.push(server);
    return server.listen(0, '127.0.0.1');
  }
});
