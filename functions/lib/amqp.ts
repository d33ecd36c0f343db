// RabbitMQ: one recovering connection per process (amqplib's own recovery, with backoff), and a
// publisher that uses publisher confirms and mandatory routing so that "sent" means "queued".
import { once } from 'node:events';
import { Writable } from 'node:stream';
import amqp, { type ConfirmChannel, type RecoveringChannelModel } from 'amqplib';
import { log } from './log.js';
import type { MessageType } from './messages.js';
import { declareTopology, mustBeRouted, names } from './topology.js';

type AmqpConnection = RecoveringChannelModel;

/** Connects in the background and reconnects forever; `setup` runs after every (re)connect. */
export async function connectAmqp(
  url: string,
  name: string,
  setup: (connection: Parameters<NonNullable<amqp.RecoveryOptions['setup']>>[0]) => Promise<void>,
): Promise<AmqpConnection> {
  const withHeartbeat = new URL(url);
  // Without heartbeats a silently dead peer is only noticed by TCP, minutes later.
  if (!withHeartbeat.searchParams.has('heartbeat')) withHeartbeat.searchParams.set('heartbeat', '10');
  const connection = await amqp.connect(withHeartbeat.toString(), {
    clientProperties: { connection_name: name },
    // Publishes, confirms and acks are small frames: Nagle's algorithm would hold each one back.
    noDelay: true,
    recovery: { initialDelay: 100, maxDelay: 5_000, maxRetries: Infinity, waitForConnect: false, setup },
  });
  connection.on('connect', () => log.info('amqp.connected', { name }));
  connection.on('disconnect', (error: Error) => log.warn('amqp.disconnected', { name, error }));
  connection.on('connect-failed', (error: Error) => log.warn('amqp.connect_failed', { name, error }));
  connection.on('error', (error: Error) => log.warn('amqp.error', { name, error }));
  return connection;
}

/** A message as the outbox holds it: its envelope already written as JSON. */
interface OutboundMessage {
  message_id: string;
  type: MessageType;
  /** The order the message is about */
  correlation_id: string | null;
  /** Seconds since the epoch */
  occurred: number;
  envelope: string;
}

const confirmTimeoutMs = 10_000;

/** The socket under a channel model: amqplib keeps it as `connection.stream`. */
function socketOf(model: unknown): Pick<Writable, 'cork' | 'uncork'> | undefined {
  const stream = (model as { connection?: { stream?: unknown } }).connection?.stream;
  return stream instanceof Writable ? stream : undefined;
}

export class Publisher {
  private channel: ConfirmChannel | undefined;
  private socket: Pick<Writable, 'cork' | 'uncork'> | undefined;
  private readonly returned = new Set<string>();
  private readonly waiting = new Set<() => void>();

  private constructor(
    private readonly exchange: string,
    private connection?: AmqpConnection,
  ) {}

  static async connect(url: string, namespace: string, deliveryLimit: number, name = 'relay'): Promise<Publisher> {
    const publisher = new Publisher(names(namespace).exchange);
    publisher.connection = await connectAmqp(url, name, async (model) => {
      const channel = await model.createConfirmChannel();
      channel.on('error', (error: Error) => log.warn('amqp.channel_error', { name, error }));
      channel.on('close', () => {
        if (publisher.channel === channel) publisher.channel = undefined;
      });
      // basic.return arrives before the confirm of the same message.
      channel.on('return', (message) => publisher.returned.add(String(message.properties.messageId)));
      await declareTopology(channel, namespace, deliveryLimit);
      publisher.socket = socketOf(model);
      publisher.channel = channel;
      for (const wake of publisher.waiting) wake();
    });
    return publisher;
  }

  /**
   * Resolves once the channel is open, or rejects after `timeoutMs`. A fresh process (a Lambda cold
   * start, a serverless-offline worker) is still connecting when its first invocation arrives.
   */
  async ready(timeoutMs: number): Promise<void> {
    if (this.channel) return;
    await new Promise<void>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiting.delete(done);
        reject(new Error(`not connected to RabbitMQ within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.add(done);
    });
  }

  /**
   * Publishes persistent messages and waits for the broker's confirms. Resolves with the ids of
   * messages that no queue took (to be retried); rejects when the broker did not confirm them all.
   */
  async publish(messages: OutboundMessage[]): Promise<Set<string>> {
    const channel = this.channel;
    if (!channel) throw new Error('not connected to RabbitMQ');
    // amqplib writes each frame on its own: corked, a batch leaves in one write. Its writer runs on
    // setImmediate, so the socket is uncorked on the one after it.
    const socket = this.socket;
    socket?.cork();
    try {
      for (const message of messages) {
        this.returned.delete(message.message_id);
        const ready = channel.publish(this.exchange, message.type, Buffer.from(message.envelope), {
          persistent: true,
          mandatory: mustBeRouted(message.type),
          contentType: 'application/json',
          messageId: message.message_id,
          type: message.type,
          correlationId: message.correlation_id ?? undefined,
          timestamp: message.occurred,
        });
        if (!ready) {
          socket?.uncork();
          await once(channel, 'drain');
          socket?.cork();
        }
      }
    } finally {
      if (socket) setImmediate(() => socket.uncork());
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('RabbitMQ did not confirm in time')), confirmTimeoutMs);
    });
    try {
      await Promise.race([channel.waitForConfirms(), timeout]);
    } finally {
      clearTimeout(timer);
    }
    const unroutable = new Set(messages.map((m) => m.message_id).filter((id) => this.returned.has(id)));
    for (const id of unroutable) this.returned.delete(id);
    return unroutable;
  }

  async close(): Promise<void> {
    await this.connection?.close().catch(() => undefined);
  }
}
