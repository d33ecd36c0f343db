// RabbitMQ consumers in the runner: deliveries become the aws:rmq event that Lambda would receive,
// and each delivery is acknowledged, retried or dead-lettered only after the handler settled.
import type { Channel, ConsumeMessage } from 'amqplib';
import { connectAmqp } from '../functions/lib/amqp.js';
import { log } from '../functions/lib/log.js';
import { batchFailuresOf, type ItemFailure, type RmqEvent, type RmqMessage } from '../functions/lib/rmqEvent.js';
import { declareTopology, names } from '../functions/lib/topology.js';
import type { StartHost } from './host.js';
import { backoff } from './host.js';

export type ConsumerFunction = (event: RmqEvent) => Promise<unknown>;

export function toRmqMessage(message: ConsumeMessage): RmqMessage {
  const p = message.properties;
  return {
    basicProperties: {
      contentType: p.contentType ?? null,
      contentEncoding: p.contentEncoding ?? null,
      headers: p.headers ?? null,
      deliveryMode: p.deliveryMode ?? null,
      priority: p.priority ?? null,
      correlationId: p.correlationId ?? null,
      replyTo: p.replyTo ?? null,
      expiration: p.expiration ?? null,
      messageId: p.messageId ?? null,
      timestamp: p.timestamp === undefined ? null : new Date(Number(p.timestamp) * 1000).toUTCString(),
      type: p.type ?? null,
      userId: p.userId ?? null,
      appId: p.appId ?? null,
      clusterId: p.clusterId ?? null,
      bodySize: message.content.length,
    },
    redelivered: message.fields.redelivered,
    data: message.content.toString('base64'),
  };
}

export function buildRmqEvent(queue: string, messages: ConsumeMessage[]): RmqEvent {
  return {
    eventSource: 'aws:rmq',
    eventSourceArn: 'arn:aws:mq:local:000000000000:broker:shop:runner',
    rmqMessagesByQueue: { [`${queue}::/`]: messages.map(toRmqMessage) },
  };
}

type Outcome = 'ack' | 'retry' | 'dead-letter';

/** What becomes of each delivery of a batch, given how the handler ended. */
export function outcomes(messages: ConsumeMessage[], error: unknown): Outcome[] {
  if (error === undefined) return messages.map(() => 'ack');
  const reported = batchFailuresOf(error);
  const failed = new Map<string, ItemFailure>((reported ?? []).map((f) => [f.itemIdentifier, f]));
  return messages.map((m, index) => {
    if (!reported) return 'retry';
    const failure = failed.get(m.properties.messageId ?? `index:${index}`);
    if (!failure) return 'ack';
    return failure.permanent ? 'dead-letter' : 'retry';
  });
}

interface QueueConsumerOptions {
  url: string;
  namespace: string;
  deliveryLimit: number;
  /** The full queue name */
  queue: string;
  batchSize: number;
  name: string;
  handler: ConsumerFunction;
}

export interface QueueConsumer {
  stop(): Promise<void>;
}

export async function startQueueConsumer(options: QueueConsumerOptions): Promise<QueueConsumer> {
  const { queue, batchSize, name, handler } = options;
  let stopping = false;
  let inFlight: Promise<void> | undefined;
  let current: { channel: Channel; consumerTag: string; buffer: ConsumeMessage[] } | undefined;
  const held = new Map<ConsumeMessage, { channel: Channel; timer: NodeJS.Timeout }>();

  // A delivery on a channel that has closed is redelivered by the broker: nothing to do.
  const settle = (channel: Channel, message: ConsumeMessage, outcome: Outcome) => {
    try {
      if (outcome === 'ack') channel.ack(message);
      else channel.nack(message, false, outcome === 'retry');
    } catch (error) {
      log.warn('consumer.settle_failed', { queue, message_id: message.properties.messageId, error });
    }
  };

  const settleAll = (channel: Channel, last: ConsumeMessage) => {
    try {
      channel.ack(last, true);
    } catch (error) {
      log.warn('consumer.settle_failed', { queue, message_id: last.properties.messageId, error });
    }
  };

  // A failed delivery goes back to the queue after a growing delay, so a broken dependency is not
  // hammered; its delivery count rises each time, up to the queue's limit and its dead-letter queue.
  const retryLater = (channel: Channel, message: ConsumeMessage) => {
    const deliveries = Number(message.properties.headers?.['x-delivery-count'] ?? 0) + 1;
    const release = () => {
      held.delete(message);
      settle(channel, message, 'retry');
    };
    if (stopping) return release();
    held.set(message, { channel, timer: setTimeout(release, backoff(deliveries)) });
  };

  const pump = (): void => {
    const state = current;
    if (inFlight || !state || state.buffer.length === 0) return;
    const batch = state.buffer.splice(0, batchSize);
    inFlight = handler(buildRmqEvent(queue, batch))
      .then(() => undefined, (error: unknown) => error ?? new Error('consumer failed'))
      .then((error) => {
        if (error !== undefined && !batchFailuresOf(error)) log.error('consumer.failed', { queue, error });
        const results = outcomes(batch, error);
        // One frame acknowledges the whole batch when nothing older is still unsettled (held for a
        // retry): deliveries reach the handler in order, so every earlier one is settled.
        if (held.size === 0 && results.every((r) => r === 'ack')) return settleAll(state.channel, batch.at(-1)!);
        results.forEach((outcome, i) => {
          const message = batch[i]!;
          if (outcome === 'retry') retryLater(state.channel, message);
          else settle(state.channel, message, outcome);
        });
      })
      .finally(() => {
        inFlight = undefined;
        pump();
      });
  };

  const connection = await connectAmqp(options.url, name, async (model) => {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => log.warn('amqp.channel_error', { name, error }));
    await declareTopology(channel, options.namespace, options.deliveryLimit);
    // Enough unacknowledged deliveries for the next batch to fill while one is being handled.
    await channel.prefetch(batchSize * 2);
    // Deliveries can arrive in the same read as consume-ok, before `consume` resolves.
    const state = { channel, consumerTag: '', buffer: [] as ConsumeMessage[] };
    current = state;
    ({ consumerTag: state.consumerTag } = await channel.consume(queue, (message) => {
      if (!message) return log.warn('consumer.cancelled_by_broker', { queue });
      state.buffer.push(message);
      pump();
    }));
  });

  return {
    async stop() {
      stopping = true;
      const state = current;
      current = undefined;
      if (state?.consumerTag) await state.channel.cancel(state.consumerTag).catch(() => undefined);
      await inFlight;
      for (const [message, { channel, timer }] of held) {
        clearTimeout(timer);
        settle(channel, message, 'retry');
      }
      held.clear();
      // amqplib sends each channel's frames on a stream of its own, so a connection.close can
      // overtake the acks just written: closing the channel first flushes them in order.
      await state?.channel.close().catch(() => undefined);
      await connection.close().catch(() => undefined);
    },
  };
}

/** A consumer for every queue event of the functions this process hosts. */
export const consumeQueues: StartHost = async ({ functions, config, service, invoke }) => {
  const n = names(config.amqpNamespace);
  const consumers: QueueConsumer[] = [];
  for (const fn of functions) {
    for (const source of fn.queues) {
      consumers.push(
        await startQueueConsumer({
          url: config.amqpUrl,
          namespace: config.amqpNamespace,
          deliveryLimit: config.deliveryLimit,
          queue: n.queue(source.queue),
          batchSize: source.batchSize,
          name: `${service}-${fn.name}`,
          handler: (event) => invoke(fn, event),
        }),
      );
    }
  }
  if (consumers.length === 0) return undefined;
  return {
    stop: async () => {
      await Promise.all(consumers.map((c) => c.stop()));
    },
  };
};
