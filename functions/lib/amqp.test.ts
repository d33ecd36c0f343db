// Publisher.ready: a relay invoked right after a cold start waits for its channel instead of failing.
import { afterAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from '../../test/support/broker.js';
import { amqpUrl, uniqueName } from '../../test/support/db.js';
import { freePort } from '../../test/support/processes.js';
import { Publisher } from './amqp.js';

const namespace = uniqueName('amqp');
const publishers: Publisher[] = [];

afterAll(async () => {
  await Promise.all(publishers.map((p) => p.close()));
  await deleteNamespace(namespace);
});

describe('Publisher.ready', () => {
  it('resolves once the channel is open and the topology declared, so the first publish goes through', async () => {
    const publisher = await Publisher.connect(amqpUrl, namespace, 20, 'test-ready');
    publishers.push(publisher);
    await publisher.ready(5_000);
    await publisher.ready(0);
    const envelope = {
      message_id: '00000000-0000-4000-8000-000000000042',
      type: 'order.status_changed' as const,
      occurred_at: new Date().toISOString(),
      payload: { order_id: '00000000-0000-4000-8000-000000000043', user_id: 1, amount: '1.00', status: 'FINISHED' as const, reason: null, updated_at: new Date().toISOString() },
    };
    const message = { message_id: envelope.message_id, type: envelope.type, correlation_id: null, occurred: Math.floor(Date.now() / 1000), envelope: JSON.stringify(envelope) };
    expect(await publisher.publish([message])).toEqual(new Set());
  });

  it('rejects after its timeout, naming RabbitMQ, when the broker cannot be reached', async () => {
    const url = `amqp://guest:guest@127.0.0.1:${await freePort()}`;
    const publisher = await Publisher.connect(url, namespace, 20, 'test-unreachable');
    publishers.push(publisher);
    await expect(publisher.ready(300)).rejects.toThrow('not connected to RabbitMQ within 300 ms');
  });
});
