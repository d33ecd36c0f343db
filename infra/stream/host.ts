// The stream routes of the manifest (the gateway's GET /api/purchases/stream), fed by this process's
// own queue of their messages: each gateway process binds an exclusive, auto-delete queue of its
// own to the exchange, so every instance sees every change. A route of the host, not a function of
// serverless.yml: a Lambda behind API Gateway cannot hold a response open, so where the route is
// absent the page polls GET /api/purchases instead.
import { randomBytes } from 'node:crypto';
import { connectAmqp } from '../../functions/lib/amqp.js';
import { log } from '../../functions/lib/log.js';
import { parseEnvelope } from '../../functions/lib/messages.js';
import { names } from '../../functions/lib/topology.js';
import type { StartHost } from '../host.js';
import type { StreamRoute } from '../http/routes.js';
import { streams, type StreamSpec } from '../manifest.js';
import { createStatusFeed, type StatusFeed } from './feed.js';
import { createStatusStream, type StatusStreamOptions } from './sse.js';

interface StatusStreamHostOptions extends StatusStreamOptions {
  /** The route and the messages it streams (order.status_changed) */
  spec: StreamSpec;
  /** Where the changes are kept for replay and handed to the browsers */
  feed: StatusFeed;
  amqpUrl: string;
  namespace: string;
}

export interface StatusStreamHost {
  route: StreamRoute;
  stop(): Promise<void>;
}

/** A stream route of order status changes, fed by this process's own queue of them. */
export async function startStatusStream(options: StatusStreamHostOptions): Promise<StatusStreamHost> {
  const { spec, feed } = options;
  if (spec.name !== 'streamPurchases' || spec.messages !== 'order.status_changed') {
    throw new Error(`${spec.name}: the one stream this host serves is streamPurchases of order.status_changed`);
  }
  const stream = createStatusStream(feed, options);
  const n = names(options.namespace);
  const name = `${spec.service}-${spec.name}`;

  const connection = await connectAmqp(options.amqpUrl, name, async (model) => {
    const channel = await model.createChannel();
    channel.on('error', (error: Error) => log.warn('amqp.channel_error', { name, error }));
    await channel.assertExchange(n.exchange, 'topic', { durable: true });
    // A new name on every connect: the broker may not have dropped the last connection's queue yet.
    const { queue } = await channel.assertQueue(n.queue(`${spec.service}.${spec.name}.${randomBytes(4).toString('hex')}`), {
      exclusive: true,
      autoDelete: true,
      durable: false,
      arguments: { 'x-queue-type': 'classic' },
    });
    await channel.bindQueue(queue, n.exchange, spec.messages);
    // From here on nothing is missed; what was published before is in the database: clients resync.
    feed.gap();
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
    route: { method: spec.method, path: spec.path, name: spec.name, stream: stream.serve },
    async stop() {
      stream.end();
      await connection.close().catch(() => undefined);
    },
  };
}

/** Every stream route of the manifest that belongs to this service. */
export const serveStreams: StartHost = async ({ service, config }) => {
  const mine = streams.filter((spec) => spec.service === service);
  if (mine.length === 0) return undefined;
  const started = await Promise.all(mine.map((spec) => startStatusStream({ spec, feed: createStatusFeed(), amqpUrl: config.amqpUrl, namespace: config.amqpNamespace })));
  return {
    routes: started.map((s) => s.route),
    stop: async () => {
      await Promise.all(started.map((s) => s.stop()));
    },
  };
};
