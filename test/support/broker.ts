// Broker helpers for tests: read and clean up a test namespace's queues on the real RabbitMQ.
import amqp from 'amqplib';
import { names, queueBindings } from '../../functions/lib/topology.js';
import { amqpUrl } from './db.js';

/** Runs `work` on a confirm channel; what it published is confirmed before the connection closes. */
export async function withChannel<T>(work: (channel: amqp.ConfirmChannel) => Promise<T>): Promise<T> {
  const connection = await amqp.connect(amqpUrl);
  try {
    const channel = await connection.createConfirmChannel();
    const result = await work(channel);
    await channel.waitForConfirms();
    return result;
  } finally {
    await connection.close();
  }
}

/** Messages waiting in a queue (full name), without taking them. */
export async function messageCount(queue: string): Promise<number> {
  return withChannel(async (ch) => (await ch.checkQueue(queue)).messageCount);
}

/** Deletes every queue and exchange of a namespace. */
export async function deleteNamespace(namespace: string): Promise<void> {
  const n = names(namespace);
  await withChannel(async (ch) => {
    for (const queue of Object.keys(queueBindings)) {
      await ch.deleteQueue(n.queue(queue));
      await ch.deleteQueue(n.deadLetterQueue(queue));
    }
    await ch.deleteExchange(n.exchange);
    await ch.deleteExchange(n.deadLetterExchange);
  });
}
