// Dead letters, for an operator: listed without being taken, and moved back to the queue they died
// in with publisher confirms before they leave the dead-letter queue. Used by `npm run dlq` and by
// the chaos run. Longer than most files: listing and re-driving share one careful protocol (take
// without acknowledging, publish back with confirms, acknowledge last), kept in one place.
import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage, type MessageProperties, type Options } from 'amqplib';
import { names, queueBindings } from '../../functions/lib/topology.js';

/** Which dead letters a redrive moves: one by its message id, or all of them. */
export type Selection = { id: string } | { all: true };

/** A command line that cannot be carried out as written. */
export class UsageError extends Error {}

/** A consumer queue of the namespace and the dead-letter queue behind it (full names). */
interface QueuePair {
  queue: string;
  deadLetterQueue: string;
}

function queuePairs(namespace: string): QueuePair[] {
  const n = names(namespace);
  return Object.keys(queueBindings).map((q) => ({ queue: n.queue(q), deadLetterQueue: n.deadLetterQueue(q) }));
}

/** The pair a user means by `payments.process-payment`, `shop.payments.process-payment` or its `.dead` queue. */
export function resolveQueue(namespace: string, given: string): QueuePair {
  const pair = queuePairs(namespace).find((p) => [p.queue, p.deadLetterQueue, p.queue.slice(namespace.length + 1)].includes(given));
  if (!pair) {
    throw new UsageError(`no queue "${given}" in namespace ${namespace}; the queues are ${queuePairs(namespace).map((p) => p.queue).join(', ')}`);
  }
  return pair;
}

export interface DeadLetter {
  messageId: string | null;
  type: string | null;
  /** The correlation id, else payload.order_id when the body is an envelope */
  orderId: string | null;
  /** Why it died the last time: rejected (poison), delivery_limit, expired, ... */
  reason: string | null;
  /** Times it died, all queues and reasons together */
  deaths: number;
  /** The queue it died in the last time */
  diedIn: string | null;
  /** When it died the last time (ISO 8601), when the broker said */
  diedAt: string | null;
}

interface XDeath {
  count?: unknown;
  reason?: unknown;
  queue?: unknown;
  time?: unknown;
}

function xDeaths(properties: MessageProperties): XDeath[] {
  const header = properties.headers?.['x-death'];
  return Array.isArray(header) ? (header as XDeath[]) : [];
}

// amqplib decodes an AMQP timestamp as { '!': 'timestamp', value: seconds }.
function timeOf(value: unknown): string | null {
  const seconds = typeof value === 'object' && value !== null ? (value as { value?: unknown }).value : value;
  return typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : null;
}

function orderIdOf(properties: MessageProperties, body: Buffer): string | null {
  if (typeof properties.correlationId === 'string' && properties.correlationId) return properties.correlationId;
  try {
    const orderId = (JSON.parse(body.toString('utf8')) as { payload?: { order_id?: unknown } }).payload?.order_id;
    return typeof orderId === 'string' ? orderId : null;
  } catch {
    return null;
  }
}

/** What an operator needs to know about one dead letter, from its properties, x-death and body. */
export function describeDeadLetter(message: Pick<GetMessage, 'content' | 'properties'>): DeadLetter {
  const { properties, content } = message;
  // The broker puts the latest death first.
  const [latest] = xDeaths(properties);
  return {
    messageId: typeof properties.messageId === 'string' ? properties.messageId : null,
    type: typeof properties.type === 'string' ? properties.type : null,
    orderId: orderIdOf(properties, content),
    reason: typeof latest?.reason === 'string' ? latest.reason : null,
    deaths: xDeaths(properties).reduce((sum, d) => sum + (typeof d.count === 'number' ? d.count : 1), 0),
    diedIn: typeof latest?.queue === 'string' ? latest.queue : null,
    diedAt: timeOf(latest?.time),
  };
}

/** Where a dead letter goes back to: the queue it died in, if that is a queue of the namespace. */
export function originOf(message: Pick<GetMessage, 'properties'>, pair: QueuePair, namespace: string): string | undefined {
  const [latest] = xDeaths(message.properties);
  const named = typeof latest?.queue === 'string' ? latest.queue : message.properties.headers?.['x-first-death-queue'];
  if (named === undefined) return pair.queue;
  return queuePairs(namespace).some((p) => p.queue === named) ? String(named) : undefined;
}

interface DeadLetterQueue extends QueuePair {
  /** False when the broker has no such queue (nothing of this namespace ever ran) */
  exists: boolean;
  messages: DeadLetter[];
}

export interface Broker {
  url: string;
  namespace: string;
}

/** The URL without its password, to print. */
export function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

class BrokerUnreachable extends Error {}

async function withConnection<T>(broker: Broker, work: (connection: ChannelModel) => Promise<T>): Promise<T> {
  let connection: ChannelModel;
  try {
    connection = await amqp.connect(broker.url, { timeout: 10_000, clientProperties: { connection_name: 'dlq' } });
  } catch (error) {
    throw new BrokerUnreachable(`cannot reach RabbitMQ at ${redacted(broker.url)}: ${(error as Error).message || String(error)}`);
  }
  connection.on('error', () => undefined);
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => undefined);
  }
}

/** True when the queue exists; a passive check that fails closes its channel, so it gets its own. */
async function queueExists(connection: ChannelModel, queue: string): Promise<boolean> {
  const channel = await connection.createChannel();
  channel.on('error', () => undefined);
  try {
    await channel.checkQueue(queue);
    await channel.close();
    return true;
  } catch {
    return false;
  }
}

/** Takes every message of a queue without acknowledging it; it stays on the broker, unacked. */
async function takeAll(channel: ConfirmChannel, queue: string, limit = Infinity): Promise<GetMessage[]> {
  const taken: GetMessage[] = [];
  while (taken.length < limit) {
    const message = await channel.get(queue, { noAck: false });
    if (!message) break;
    taken.push(message);
  }
  return taken;
}

// Each one on its own and in the order read: a broker that keeps the order of returns keeps the
// queue's order. (RabbitMQ 3.10 quorum queues reorder returns beyond 32 messages.)
function putBack(channel: ConfirmChannel, messages: GetMessage[]): void {
  for (const message of messages) channel.nack(message, false, true);
}

/** Every dead letter of the namespace, queue by queue, left in its queue. */
export async function listDeadLetters(broker: Broker): Promise<DeadLetterQueue[]> {
  return withConnection(broker, async (connection) => {
    const listings: DeadLetterQueue[] = [];
    for (const pair of queuePairs(broker.namespace)) {
      if (!(await queueExists(connection, pair.deadLetterQueue))) {
        listings.push({ ...pair, exists: false, messages: [] });
        continue;
      }
      const channel = await connection.createConfirmChannel();
      const taken = await takeAll(channel, pair.deadLetterQueue);
      putBack(channel, taken);
      await channel.close();
      listings.push({ ...pair, exists: true, messages: taken.map(describeDeadLetter) });
    }
    return listings;
  });
}

interface RedriveResult extends QueuePair {
  /** The dead letters published back to their queue (confirmed) and removed from the dead-letter queue */
  moved: DeadLetter[];
  /** Dead letters left where they were, with the reason */
  left: { deadLetter: DeadLetter; why: string }[];
}

// The properties a dead letter is published back with: all of them but the broker's own delivery
// count (it would make the consumer's first retry wait as if it were a late one) and the user id
// (the broker refuses one that is not the connection's user). Expiration was removed at its death.
const republishedProperties = ['contentType', 'contentEncoding', 'priority', 'correlationId', 'replyTo', 'messageId', 'timestamp', 'type', 'appId'] as const;
export function republishOptions(properties: MessageProperties): Options.Publish {
  const { 'x-delivery-count': _deliveries, ...headers } = properties.headers ?? {};
  const kept = republishedProperties.filter((key) => properties[key] !== undefined && properties[key] !== null);
  return { ...Object.fromEntries(kept.map((key) => [key, properties[key]])), headers, persistent: true, mandatory: true };
}

const batchSize = 100;

/**
 * Moves dead letters back to the queue each died in. Each is published persistent and mandatory
 * through the default exchange (so it reaches that queue and no other), and acknowledged in the
 * dead-letter queue only after the broker confirmed it: a crash in between leaves a copy in both,
 * and the consumer's inbox drops the second. Never more than the queue held at the start, so a
 * message that dies again at once is not moved round in circles.
 */
export async function redrive(broker: Broker, queue: string, select: Selection): Promise<RedriveResult> {
  const pair = resolveQueue(broker.namespace, queue);
  return withConnection(broker, async (connection) => {
    const result: RedriveResult = { ...pair, moved: [], left: [] };
    if (!(await queueExists(connection, pair.deadLetterQueue))) return result;
    const channel = await connection.createConfirmChannel();
    // Returns are told apart by message id; messages without one are all kept if one comes back.
    const returned = new Set<string>();
    channel.on('return', (message: { properties: MessageProperties }) => returned.add(String(message.properties.messageId)));
    const held: GetMessage[] = [];
    let budget = (await channel.checkQueue(pair.deadLetterQueue)).messageCount;
    try {
      while (budget > 0) {
        const taken = await takeAll(channel, pair.deadLetterQueue, Math.min(batchSize, budget));
        if (taken.length === 0) break;
        budget -= taken.length;
        const chosen = taken.filter((m) => 'all' in select || m.properties.messageId === select.id);
        held.push(...taken.filter((m) => !chosen.includes(m)));
        const publishing: GetMessage[] = [];
        for (const message of chosen) {
          const origin = originOf(message, pair, broker.namespace);
          if (origin === undefined) {
            result.left.push({ deadLetter: describeDeadLetter(message), why: 'it died in a queue that is not one of this namespace' });
            held.push(message);
            continue;
          }
          channel.publish('', origin, message.content, republishOptions(message.properties));
          publishing.push(message);
        }
        await channel.waitForConfirms();
        for (const message of publishing) {
          if (returned.has(String(message.properties.messageId))) {
            result.left.push({ deadLetter: describeDeadLetter(message), why: 'its queue does not exist (the broker returned it)' });
            held.push(message);
          } else {
            channel.ack(message);
            result.moved.push(describeDeadLetter(message));
          }
        }
        if ('id' in select && chosen.length) break;
      }
    } finally {
      putBack(channel, held);
      await channel.close().catch(() => undefined);
    }
    return result;
  });
}

const columns: { title: string; value: (d: DeadLetter) => string }[] = [
  { title: 'MESSAGE ID', value: (d) => d.messageId ?? '-' },
  { title: 'TYPE', value: (d) => d.type ?? '-' },
  { title: 'ORDER ID', value: (d) => d.orderId ?? '-' },
  { title: 'REASON', value: (d) => d.reason ?? '-' },
  { title: 'DEATHS', value: (d) => String(d.deaths) },
  { title: 'DIED IN', value: (d) => d.diedIn ?? '-' },
  { title: 'LAST DIED', value: (d) => d.diedAt ?? '-' },
];

/** The dead letters as a table per queue, columns padded to their widest cell. */
export function renderListing(listings: readonly DeadLetterQueue[]): string {
  const lines: string[] = [];
  for (const listing of listings) {
    const count = listing.messages.length;
    if (!listing.exists) {
      lines.push(`${listing.deadLetterQueue}: not declared (nothing of this namespace has run on this broker)`);
      continue;
    }
    lines.push(`${listing.deadLetterQueue}: ${count === 0 ? 'empty' : `${count} dead letter${count === 1 ? '' : 's'}`}`);
    if (count === 0) continue;
    const cells = [columns.map((c) => c.title), ...listing.messages.map((m) => columns.map((c) => c.value(m)))];
    const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
    for (const row of cells) lines.push(`  ${row.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()}`);
  }
  return lines.join('\n');
}

export function renderRedrive(result: RedriveResult): string {
  const lines = [`moved ${result.moved.length} dead letter${result.moved.length === 1 ? '' : 's'} from ${result.deadLetterQueue}`];
  for (const d of result.moved) lines.push(`  ${d.messageId ?? '-'} (${d.type ?? '-'}, order ${d.orderId ?? '-'}) -> ${d.diedIn ?? result.queue}`);
  for (const { deadLetter, why } of result.left) lines.push(`  left ${deadLetter.messageId ?? '-'}: ${why}`);
  return lines.join('\n');
}
