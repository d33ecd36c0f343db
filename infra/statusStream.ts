// GET /api/purchases/stream: the gateway pushes order status changes to browsers as Server-Sent
// Events. Each gateway process binds an exclusive, auto-delete queue of its own to the exchange, so
// every instance sees every change, and keeps the last changes to answer a reconnect's Last-Event-ID.
// A route of the host, not a function of serverless.yml: a Lambda behind API Gateway cannot hold a
// response open, so where the route is absent the page polls GET /api/purchases instead.
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { connectAmqp, type AmqpConnection } from '../functions/lib/amqp.js';
import { log } from '../functions/lib/log.js';
import { parseEnvelope, type Payloads } from '../functions/lib/messages.js';
import { Money, toJson } from '../functions/lib/money.js';
import { requestValidator } from '../functions/lib/openapi.js';
import { HttpProblem } from '../functions/lib/problem.js';
import { names } from '../functions/lib/topology.js';
import type { StreamRoute } from './http.js';

export const statusStreamRoute = { method: 'GET', path: '/api/purchases/stream', name: 'streamPurchases' } as const;

type StatusChange = Payloads['order.status_changed'];

interface ChangeEntry { seq: number; messageId: string; change: StatusChange }
/** A gap: changes published while no queue of ours was bound are lost to this gateway. */
interface GapEntry { seq: number; gap: true }
export type FeedEntry = ChangeEntry | GapEntry;

export interface StatusFeed {
  /** Tells this process's event ids from another's (or an earlier run's): ids are `<instance>-<seq>` */
  readonly instance: string;
  /** The sequence number of the latest entry */
  readonly seq: number;
  /** Adds a change; false when the same message was already added (the relay publishes at least once) */
  publish(messageId: string, change: StatusChange): boolean;
  gap(): void;
  /** The changes after `lastEventId`; undefined when some may be missing (another instance, too old, a gap) */
  replay(lastEventId: string): ChangeEntry[] | undefined;
  subscribe(listener: (entry: FeedEntry) => void): () => void;
}

export function eventId(instance: string, seq: number): string {
  return `${instance}-${seq}`;
}

/** The last `capacity` changes and gaps, numbered, and whoever listens to the next ones. */
export function createStatusFeed(capacity = 1000): StatusFeed {
  const instance = randomBytes(4).toString('hex');
  const entries: FeedEntry[] = [];
  const messageIds = new Set<string>();
  const listeners = new Set<(entry: FeedEntry) => void>();
  let seq = 0;

  const append = (entry: FeedEntry) => {
    entries.push(entry);
    if (entries.length > capacity) {
      const dropped = entries.shift()!;
      if ('messageId' in dropped) messageIds.delete(dropped.messageId);
    }
    for (const listener of listeners) listener(entry);
  };

  return {
    instance,
    get seq() {
      return seq;
    },
    publish(messageId, change) {
      if (messageIds.has(messageId)) return false;
      messageIds.add(messageId);
      append({ seq: ++seq, messageId, change });
      return true;
    },
    gap() {
      append({ seq: ++seq, gap: true });
    },
    replay(lastEventId) {
      const match = /^([0-9a-f]{8})-(0|[1-9]\d{0,15})$/.exec(lastEventId);
      if (!match || match[1] !== instance) return undefined;
      const after = Number(match[2]);
      const oldest = entries[0]?.seq ?? seq + 1;
      if (after > seq || after < oldest - 1) return undefined;
      const missed = entries.filter((entry) => entry.seq > after);
      return missed.every((entry): entry is ChangeEntry => 'messageId' in entry) ? missed : undefined;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

/** The `status` event's data: the order's new status, shaped like the Purchase it belongs to. */
export function statusView(change: StatusChange): string {
  return toJson({
    id: change.order_id,
    user_id: change.user_id,
    amount: Money.fromDecimal(change.amount),
    status: change.status,
    reason: change.reason,
    updated_at: change.updated_at,
  });
}

function frame(id: string, event: string, data: string): string {
  return `id: ${id}\nevent: ${event}\ndata: ${data}\n\n`;
}

export interface StatusStreamOptions {
  /** A comment this often keeps proxies and browsers from taking the stream for idle */
  heartbeatMs?: number;
  /** How long a browser waits before it reconnects */
  retryMs?: number;
  /** A client that lets this much pile up unread is dropped; it reconnects and resyncs */
  maxBufferedBytes?: number;
}

export interface StatusStream {
  serve: StreamRoute['stream'];
  /** Ends every open stream (browsers reconnect elsewhere or later) and refuses new ones */
  end(): void;
}

export function createStatusStream(feed: StatusFeed, options: StatusStreamOptions = {}): StatusStream {
  const { heartbeatMs = 15_000, retryMs = 1_000, maxBufferedBytes = 1024 * 1024 } = options;
  const validator = requestValidator(statusStreamRoute.name);
  const clients = new Set<ServerResponse>();
  let ended = false;

  const write = (res: ServerResponse, text: string) => {
    if (res.writableLength > maxBufferedBytes) return void res.destroy();
    res.write(text);
  };
  const heartbeat = setInterval(() => clients.forEach((res) => write(res, ': ping\n\n')), heartbeatMs);
  heartbeat.unref();

  function serve(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (ended) throw new HttpProblem(503, 'The gateway is shutting down; reconnect in a moment', { headers: { 'retry-after': '1' } });
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
    const userId = validator.params('query', query).user_id as number | undefined;
    const lastEventId = req.headers['last-event-id'];
    const missed = typeof lastEventId === 'string' ? feed.replay(lastEventId) : undefined;

    const eventOf = (entry: FeedEntry): string => {
      if (!('change' in entry)) return frame(eventId(feed.instance, entry.seq), 'resync', '{}');
      return userId === undefined || entry.change.user_id === userId ? frame(eventId(feed.instance, entry.seq), 'status', statusView(entry.change)) : '';
    };
    // An event stream is never followed by another request on its connection.
    res.shouldKeepAlive = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // Tells nginx and its kind not to buffer the stream.
      'x-accel-buffering': 'no',
    });
    // The subscription starts before `ready` is written: whatever the client reads after `ready`
    // (the list it fetches then, or the next events) leaves nothing out.
    const unsubscribe = feed.subscribe((entry) => {
      const text = eventOf(entry);
      if (text) write(res, text);
    });
    clients.add(res);
    res.once('close', () => {
      unsubscribe();
      clients.delete(res);
    });
    const replayed = (missed ?? []).map(eventOf).join('');
    const ready = frame(eventId(feed.instance, feed.seq), 'ready', JSON.stringify({ resumed: missed !== undefined }));
    res.write(`retry: ${retryMs}\n\n${replayed}${ready}`);
  }

  return {
    serve,
    end() {
      ended = true;
      clearInterval(heartbeat);
      for (const res of clients) res.end();
      clients.clear();
    },
  };
}

export interface StatusStreamHostOptions extends StatusStreamOptions {
  amqpUrl: string;
  namespace: string;
  /** Changes kept for replay */
  bufferSize?: number;
}

export interface StatusStreamHost {
  route: StreamRoute;
  feed: StatusFeed;
  connection: AmqpConnection;
  /** The queue of the current connection, once bound */
  readonly queue: string | undefined;
  stop(): Promise<void>;
}

/** The stream route of the gateway host, fed by this process's own queue of order.status_changed. */
export async function startStatusStream(options: StatusStreamHostOptions): Promise<StatusStreamHost> {
  const feed = createStatusFeed(options.bufferSize);
  const stream = createStatusStream(feed, options);
  const n = names(options.namespace);
  const name = 'gateway-status-stream';
  let bound: string | undefined;

  const connection = await connectAmqp(options.amqpUrl, name, async (model) => {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => log.warn('amqp.channel_error', { name, error }));
    await channel.assertExchange(n.exchange, 'topic', { durable: true });
    // A new name on every connect: the broker may not have dropped the last connection's queue yet.
    const { queue } = await channel.assertQueue(n.queue(`gateway.status-stream.${randomBytes(4).toString('hex')}`), {
      exclusive: true,
      autoDelete: true,
      durable: false,
      arguments: { 'x-queue-type': 'classic' },
    });
    await channel.bindQueue(queue, n.exchange, 'order.status_changed');
    // From here on nothing is missed; what was published before is in the database: clients resync.
    feed.gap();
    bound = queue;
    log.info('status_stream.bound', { queue });
    await channel.consume(
      queue,
      (message) => {
        if (!message) return log.warn('status_stream.cancelled_by_broker', { queue });
        const envelope = parseEnvelope(message.content.toString(), ['order.status_changed']);
        if (!envelope) return log.warn('status_stream.malformed', { message_id: message.properties.messageId });
        feed.publish(envelope.message_id, envelope.payload);
      },
      // A notification: one lost with this process is read again by the page from the list.
      { noAck: true },
    );
  });

  return {
    route: { ...statusStreamRoute, stream: stream.serve },
    feed,
    connection,
    get queue() {
      return bound;
    },
    async stop() {
      stream.end();
      await connection.close().catch(() => undefined);
    },
  };
}
