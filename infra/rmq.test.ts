import amqp, { type ConfirmChannel, type ConsumeMessage, type GetMessage, type MessageProperties } from 'amqplib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BatchFailure, type RmqEvent, type RmqMessage } from '../functions/lib/rmqEvent.js';
import { declareTopology, names } from '../functions/lib/topology.js';
import { deleteNamespace, messageCount, withChannel } from '../test/support/broker.js';
import { amqpUrl, uniqueName } from '../test/support/db.js';
import { buildRmqEvent, outcomes, startQueueConsumer, toRmqMessage, type ConsumerFunction, type QueueConsumer } from './rmq.js';
import { holdsFor, waitFor } from '../test/support/system.js';
import { backoff } from './host.js';

function delivery(body: string, properties: Partial<MessageProperties> = {}, redelivered = false): ConsumeMessage {
  return {
    content: Buffer.from(body),
    fields: { deliveryTag: 1, redelivered, exchange: 'shop', routingKey: 'order.payment_requested', consumerTag: 'ctag' },
    properties: {
      contentType: undefined,
      contentEncoding: undefined,
      headers: undefined,
      deliveryMode: undefined,
      priority: undefined,
      correlationId: undefined,
      replyTo: undefined,
      expiration: undefined,
      messageId: undefined,
      timestamp: undefined,
      type: undefined,
      userId: undefined,
      appId: undefined,
      clusterId: undefined,
      ...properties,
    },
  };
}

describe('outcomes', () => {
  const batch = [delivery('1', { messageId: 'm1' }), delivery('2', { messageId: 'm2' }), delivery('3', { messageId: 'm3' })];

  it('acks every delivery when the handler succeeded', () => {
    expect(outcomes(batch, undefined)).toEqual(['ack', 'ack', 'ack']);
  });

  it('dead-letters the permanent failures, retries the transient ones and acks the rest', () => {
    const error = new BatchFailure([
      { itemIdentifier: 'm2', permanent: true },
      { itemIdentifier: 'm3', permanent: false },
    ]);
    expect(outcomes(batch, error)).toEqual(['ack', 'dead-letter', 'retry']);
  });

  it('identifies a delivery without a message id by its index in the batch', () => {
    const anonymous = [delivery('a'), delivery('b'), delivery('c')];
    const error = new BatchFailure([
      { itemIdentifier: 'index:0', permanent: false },
      { itemIdentifier: 'index:2', permanent: true },
    ]);
    expect(outcomes(anonymous, error)).toEqual(['retry', 'ack', 'dead-letter']);
  });

  it('acks every delivery of a BatchFailure that lists none of them', () => {
    expect(outcomes(batch, new BatchFailure([{ itemIdentifier: 'other', permanent: true }]))).toEqual(['ack', 'ack', 'ack']);
  });

  it('recognises a BatchFailure thrown from another bundle by its shape', () => {
    const foreign = Object.assign(new Error('1 message(s) of the batch failed'), {
      name: 'BatchFailure',
      failures: [{ itemIdentifier: 'm1', permanent: true }],
    });
    expect(outcomes(batch, foreign)).toEqual(['dead-letter', 'ack', 'ack']);
  });

  it('retries every delivery after any other error: nothing is acked that may not have committed', () => {
    expect(outcomes(batch, new Error('database down'))).toEqual(['retry', 'retry', 'retry']);
    expect(outcomes(batch, 'a string thrown')).toEqual(['retry', 'retry', 'retry']);
    expect(outcomes(batch, null)).toEqual(['retry', 'retry', 'retry']);
  });
});

describe('the aws:rmq event', () => {
  const body = JSON.stringify({ message_id: 'id-1', type: 'order.payment_requested', payload: { note: 'é' } });
  const message = delivery(
    body,
    {
      messageId: 'id-1',
      correlationId: 'order-1',
      type: 'order.payment_requested',
      contentType: 'application/json',
      deliveryMode: 2,
      timestamp: 1738317600,
      headers: { 'x-delivery-count': 2 },
    },
    true,
  );

  it('carries the body as base64 and the AMQP properties Lambda passes on', () => {
    const record = toRmqMessage(message);
    expect(Buffer.from(record.data, 'base64').toString('utf8')).toBe(body);
    expect(record.redelivered).toBe(true);
    expect(record.basicProperties).toMatchObject({
      messageId: 'id-1',
      correlationId: 'order-1',
      type: 'order.payment_requested',
      contentType: 'application/json',
      deliveryMode: 2,
      headers: { 'x-delivery-count': 2 },
      timestamp: 'Fri, 31 Jan 2025 10:00:00 GMT',
      bodySize: Buffer.byteLength(body),
    });
  });

  it('writes absent properties as null, as Lambda does', () => {
    const { basicProperties } = toRmqMessage(delivery('{}'));
    expect(basicProperties).toEqual({
      contentType: null,
      contentEncoding: null,
      headers: null,
      deliveryMode: null,
      priority: null,
      correlationId: null,
      replyTo: null,
      expiration: null,
      messageId: null,
      timestamp: null,
      type: null,
      userId: null,
      appId: null,
      clusterId: null,
      bodySize: 2,
    });
  });

  it('groups the records under "queue::/" with eventSource aws:rmq', () => {
    const event = buildRmqEvent('shop.payments.process-payment', [message, delivery('{}', { messageId: 'id-2' })]);
    expect(event.eventSource).toBe('aws:rmq');
    expect(event.eventSourceArn).toMatch(/^arn:aws:mq:/);
    expect(Object.keys(event.rmqMessagesByQueue)).toEqual(['shop.payments.process-payment::/']);
    const records = event.rmqMessagesByQueue['shop.payments.process-payment::/']!;
    expect(records.map((r) => r.basicProperties.messageId)).toEqual(['id-1', 'id-2']);
  });
});

describe('startQueueConsumer on the real broker', () => {
  const namespace = uniqueName('rmq');
  const n = names(namespace);
  const queue = n.queue('payments.process-payment');
  const deadLetterQueue = n.deadLetterQueue('payments.process-payment');
  const deliveryLimit = 3;
  let publisherConnection: amqp.ChannelModel;
  let publisher: ConfirmChannel;
  const consumers: QueueConsumer[] = [];

  beforeAll(async () => {
    publisherConnection = await amqp.connect(amqpUrl);
    publisher = await publisherConnection.createConfirmChannel();
    await declareTopology(publisher, namespace, deliveryLimit);
  });

  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.stop()));
    await withChannel(async (ch) => {
      await ch.purgeQueue(queue);
      await ch.purgeQueue(deadLetterQueue);
    });
  });

  afterAll(async () => {
    await publisherConnection?.close();
    await deleteNamespace(namespace);
  });

  async function publish(...ids: string[]): Promise<void> {
    for (const id of ids) {
      publisher.publish(n.exchange, 'order.payment_requested', Buffer.from(JSON.stringify({ id })), {
        persistent: true,
        mandatory: true,
        messageId: id,
        correlationId: `order-of-${id}`,
        type: 'order.payment_requested',
        contentType: 'application/json',
      });
    }
    await publisher.waitForConfirms();
  }

  async function start(handler: ConsumerFunction, batchSize = 10): Promise<QueueConsumer> {
    const consumer = await startQueueConsumer({ url: amqpUrl, namespace, deliveryLimit, queue, batchSize, name: 'rmq-test', handler });
    consumers.push(consumer);
    return consumer;
  }

  const recordsOf = (event: RmqEvent): RmqMessage[] => {
    expect(event.eventSource).toBe('aws:rmq');
    expect(Object.keys(event.rmqMessagesByQueue)).toEqual([`${queue}::/`]);
    return event.rmqMessagesByQueue[`${queue}::/`]!;
  };
  const idsOf = (event: RmqEvent) => recordsOf(event).map((r) => r.basicProperties.messageId!);

  /** Holds the handler's first batch until released, so that what arrives meanwhile forms one batch. */
  function gate() {
    let open!: () => void;
    const opened = new Promise<void>((resolve) => {
      open = resolve;
    });
    return { open, opened };
  }

  /** Waits until the broker has handed every ready message of the queue to a consumer. */
  const allDelivered = () => waitFor('the queue to be drained', async () => (await messageCount(queue)) === 0);

  async function deadLettered(): Promise<GetMessage[]> {
    return withChannel(async (ch) => {
      const messages: GetMessage[] = [];
      for (let m = await ch.get(deadLetterQueue); m; m = await ch.get(deadLetterQueue)) messages.push(m);
      return messages; // left unacknowledged: they go back to the queue when the channel closes
    });
  }

  it('hands published messages over as one aws:rmq event per batch and acks them', async () => {
    const events: RmqEvent[] = [];
    const first = gate();
    await start(async (event) => {
      events.push(event);
      if (events.length === 1) await first.opened;
    });
    await publish('a0');
    await waitFor('the first batch', async () => events.length === 1);
    await publish('a1', 'a2', 'a3', 'a4', 'a5');
    await allDelivered();
    first.open();
    await waitFor('every message', async () => events.flatMap(idsOf).length >= 6);

    expect(events.map(idsOf)).toEqual([['a0'], ['a1', 'a2', 'a3', 'a4', 'a5']]);
    const record = recordsOf(events[1]!)[0]!;
    expect(JSON.parse(Buffer.from(record.data, 'base64').toString())).toEqual({ id: 'a1' });
    expect(record.basicProperties).toMatchObject({
      messageId: 'a1',
      correlationId: 'order-of-a1',
      type: 'order.payment_requested',
      contentType: 'application/json',
      deliveryMode: 2,
    });
    expect(record.redelivered).toBe(false);

    await consumers.pop()!.stop();
    expect(await messageCount(queue)).toBe(0);
    expect(await messageCount(deadLetterQueue)).toBe(0);
    expect(events.flatMap(idsOf)).toHaveLength(6);
  });

  it('dead-letters a permanent failure at once and acks the rest of its batch', async () => {
    const seen: string[] = [];
    const first = gate();
    await start(async (event) => {
      const ids = idsOf(event);
      seen.push(...ids);
      if (seen.length === 1) await first.opened;
      if (ids.includes('b-poison')) throw new BatchFailure([{ itemIdentifier: 'b-poison', permanent: true }]);
    });
    await publish('b0');
    await waitFor('the first batch', async () => seen.length === 1);
    await publish('b1', 'b-poison', 'b2');
    await allDelivered();
    first.open();
    await waitFor('the poison message in the dead-letter queue', async () => (await messageCount(deadLetterQueue)) === 1);

    const [dead] = await deadLettered();
    expect(dead?.properties.messageId).toBe('b-poison');
    expect(JSON.parse(dead!.content.toString())).toEqual({ id: 'b-poison' });
    await consumers.pop()!.stop();
    expect(seen).toEqual(['b0', 'b1', 'b-poison', 'b2']);
    expect(await messageCount(queue)).toBe(0);
    expect(await messageCount(deadLetterQueue)).toBe(1);
  });

  it('retries a transient failure with a growing delay, dead-letters it past the delivery limit, and keeps serving others', async () => {
    const deliveries: { at: number; record: RmqMessage }[] = [];
    const good: number[] = [];
    await start(async (event) => {
      for (const record of recordsOf(event)) {
        if (record.basicProperties.messageId === 'c-good') good.push(Date.now());
        else deliveries.push({ at: Date.now(), record });
      }
      if (idsOf(event).includes('c-flaky')) throw new BatchFailure([{ itemIdentifier: 'c-flaky', permanent: false }]);
    });
    await publish('c-flaky');
    await waitFor('the first delivery', async () => deliveries.length === 1);
    await publish('c-good');
    await waitFor('the failing message in the dead-letter queue', async () => (await messageCount(deadLetterQueue)) === 1);

    // The good message was served while the failing one waited for its retries.
    expect(good).toHaveLength(1);
    // RabbitMQ 3.10 dead-letters once the redeliveries pass the limit: 1 + deliveryLimit deliveries.
    expect(deliveries.length).toBeGreaterThanOrEqual(deliveryLimit);
    expect(deliveries.length).toBeLessThanOrEqual(deliveryLimit + 1);
    expect(good[0]!).toBeLessThan(deliveries[1]!.at);
    expect(deliveries.slice(1).every((d) => d.record.redelivered)).toBe(true);
    // Each retry waits at least its backoff, which doubles from one delivery to the next.
    deliveries.slice(1).forEach((d, i) => {
      expect(d.at - deliveries[i]!.at).toBeGreaterThanOrEqual(backoff(i + 1) - 5);
    });
    const counts = deliveries.map((d) => Number(d.record.basicProperties.headers?.['x-delivery-count'] ?? 0));
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(new Set(counts).size).toBe(counts.length);

    const [dead] = await deadLettered();
    expect(dead?.properties.messageId).toBe('c-flaky');
    await consumers.pop()!.stop();
    expect(await messageCount(queue)).toBe(0);
  });

  it('stop() waits for the batch in flight, acks it, and takes no more', async () => {
    const seen: string[] = [];
    const held = gate();
    const consumer = await start(async (event) => {
      seen.push(...idsOf(event));
      await held.opened;
    });
    await publish('d0');
    await waitFor('the batch to start', async () => seen.length === 1);

    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await holdsFor('stop() waiting for the batch in flight', () => !stopped, 100);
    held.open();
    await stopping;

    expect(await messageCount(queue)).toBe(0);
    expect(await messageCount(deadLetterQueue)).toBe(0);
    await publish('d1');
    await waitFor('the later message to wait in the queue', async () => (await messageCount(queue)) === 1);
    expect(seen).toEqual(['d0']);
  });
});
