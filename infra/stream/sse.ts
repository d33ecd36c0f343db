// Server-Sent Events for GET /api/purchases/stream: each browser gets the changes it missed (when the
// feed still holds them), a `ready` event, then every change of its user as it happens.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { requestValidator } from '../../functions/lib/contract.js';
import { Money, toJson } from '../../functions/lib/money.js';
import { HttpProblem } from '../../functions/lib/problem.js';
import type { StreamRoute } from '../http/routes.js';
import { eventId, type FeedEntry, type StatusChange, type StatusFeed } from './feed.js';

/** The `status` event's data: the order's new status, shaped like the Purchase it belongs to. */
function statusView(change: StatusChange): string {
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

/** GET /api/purchases/stream (operation streamPurchases) over a feed. */
export function createStatusStream(feed: StatusFeed, options: StatusStreamOptions = {}): StatusStream {
  const { heartbeatMs = 15_000, retryMs = 1_000, maxBufferedBytes = 1024 * 1024 } = options;
  const validator = requestValidator('streamPurchases');
  const clients = new Set<ServerResponse>();
  let ended = false;

  const write = (res: ServerResponse, text: string) => {
    if (res.writableLength > maxBufferedBytes) return void res.destroy();
    // The changes that one read from RabbitMQ brings leave in one write to each browser.
    if (!res.writableCorked) {
      res.cork();
      process.nextTick(() => res.uncork());
    }
    res.write(text);
  };
  const heartbeat = setInterval(() => clients.forEach((res) => write(res, ': ping\n\n')), heartbeatMs);
  heartbeat.unref();

  function serve(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (ended) throw new HttpProblem(503, 'The gateway is shutting down; reconnect in a moment', { headers: { 'retry-after': '1' } });
    const query: Record<string, string> = {};
    for (const [name, value] of url.searchParams) query[name] = name in query ? `${query[name]},${value}` : value;
    const userId = validator.params('query', query).user_id;
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

