// The RabbitMQ topology, declared idempotently by every publisher and consumer before use, so that
// no message is published before its queue exists. One durable topic exchange; one quorum queue per
// consumer with a dead-letter queue behind it.
import type { Channel } from 'amqplib';
import type { MessageType } from './messages.js';

/** Each consumer's queue (as named in serverless.yml) and the message types it receives. */
export const queueBindings: Record<string, readonly MessageType[]> = {
  'payments.process-payment': ['order.payment_requested'],
  'orders.apply-payment-result': ['payment.succeeded', 'payment.failed'],
};

interface Names {
  exchange: string;
  deadLetterExchange: string;
  queue(name: string): string;
  deadLetterQueue(name: string): string;
}

export function names(namespace: string): Names {
  return {
    exchange: namespace,
    deadLetterExchange: `${namespace}.dead-letter`,
    queue: (name) => `${namespace}.${name}`,
    deadLetterQueue: (name) => `${namespace}.${name}.dead`,
  };
}

/** A type that some durable queue waits for must be routed; the others are notifications. */
export function mustBeRouted(type: MessageType): boolean {
  return Object.values(queueBindings).some((types) => types.includes(type));
}

export async function declareTopology(channel: Channel, namespace: string, deliveryLimit: number): Promise<void> {
  const n = names(namespace);
  await channel.assertExchange(n.exchange, 'topic', { durable: true });
  await channel.assertExchange(n.deadLetterExchange, 'direct', { durable: true });
  for (const [queue, types] of Object.entries(queueBindings)) {
    const dead = n.deadLetterQueue(queue);
    // A parking lot: a classic queue has no delivery limit, so listing and re-driving dead letters
    // (which requeues them) can never drop one, as a quorum queue's limit would on RabbitMQ 4.
    await channel.assertQueue(dead, { durable: true, arguments: { 'x-queue-type': 'classic' } });
    await channel.bindQueue(dead, n.deadLetterExchange, n.queue(queue));
    await channel.assertQueue(n.queue(queue), {
      durable: true,
      arguments: {
        'x-queue-type': 'quorum',
        // Explicit: RabbitMQ 4 defaults to 20 and drops what passes it unless dead-lettered.
        'x-delivery-limit': deliveryLimit,
        'x-dead-letter-exchange': n.deadLetterExchange,
        'x-dead-letter-routing-key': n.queue(queue),
        // Dead-lettering is itself confirmed, so a message is never lost on its way to the DLQ.
        'x-dead-letter-strategy': 'at-least-once',
        'x-overflow': 'reject-publish',
      },
    });
    for (const type of types) await channel.bindQueue(n.queue(queue), n.exchange, type);
  }
}
