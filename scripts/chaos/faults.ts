// Carrying out a fault schedule on the chaos system: one fault after another on the main lane, and
// the long consumer freeze on a lane of its own, so the other faults go on meanwhile.
import { randomUUID } from 'node:crypto';
import { parseEnvelope, type MessageType } from '../../functions/lib/messages.js';
import { queueBindings } from '../../functions/lib/topology.js';
import type { Fault } from './plan.js';
import { terminateConnections, withBroker, type ChaosSystem } from './system.js';

export interface Injected extends Fault {
  /** Seconds from the start of the fault phase when it was done, and when it was undone */
  startedS: number;
  endedS: number;
  detail?: string;
}

interface FaultTarget {
  system: ChaosSystem;
  postgresUrl: string;
  amqpUrl: string;
  namespace: string;
  /** Called with each message id published as poison */
  onPoison(queue: string, messageId: string): void;
  log(line: string): void;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const allTypes = Object.values(queueBindings).flat() as MessageType[];

/** Bodies no consumer can take: broken JSON, and a well-formed envelope whose payload is wrong. */
function poisonBody(index: number): string {
  const bodies = [
    '{"message_id": "not closed"',
    JSON.stringify({ message_id: randomUUID(), type: 'order.payment_requested', occurred_at: new Date().toISOString(), payload: { order_id: 'x', user_id: -1, amount: '-5' } }),
    JSON.stringify({ message_id: randomUUID(), type: 'payment.succeeded', occurred_at: new Date().toISOString(), payload: { order_id: randomUUID(), user_id: 1, amount: '1.001' } }),
  ];
  const body = bodies[index % bodies.length]!;
  if (parseEnvelope(body, allTypes)) throw new Error(`poison body ${index} is a valid message`);
  return body;
}

async function execute(fault: Fault, target: FaultTarget, index: number): Promise<string | undefined> {
  const { system } = target;
  const processOf = (name: string) => {
    const found = system.processes.find((p) => p.spec.name === name);
    if (!found) throw new Error(`no process ${name}`);
    return found;
  };
  switch (fault.kind) {
    case 'kill': {
      const p = processOf(fault.target!);
      // The frozen consumer is left to its freeze; it is killed once thawed.
      while (p.paused) await sleep(100);
      await p.kill();
      await sleep(fault.seconds * 1000);
      p.start();
      return undefined;
    }
    case 'pause': {
      const p = processOf(fault.target!);
      p.pause();
      await sleep(fault.seconds * 1000);
      p.resume();
      return undefined;
    }
    case 'broker-cut':
      await system.broker.cut();
      await sleep(fault.seconds * 1000);
      await system.broker.restore();
      return undefined;
    case 'postgres-restart':
      await system.postgres.cut();
      await sleep(fault.seconds * 1000);
      await system.postgres.restore();
      return undefined;
    case 'postgres-terminate': {
      const ended = await terminateConnections(target.postgresUrl, [system.databases.payments, system.databases.orders]);
      return `${ended} connections ended`;
    }
    case 'poison': {
      const messageId = `poison-${target.namespace}-${index}`;
      await withBroker(target.amqpUrl, async (channel) => {
        // Straight into the queue, as a broken publisher would put it there.
        channel.sendToQueue(fault.target!, Buffer.from(poisonBody(index)), { persistent: true, messageId, type: 'poison', contentType: 'application/json' });
      });
      target.onPoison(fault.target!, messageId);
      return messageId;
    }
  }
}

/** Runs the faults at their times from `startedAt` (ms since the epoch); resolves when all are undone. */
export async function runFaults(faults: readonly Fault[], target: FaultTarget, startedAt: number): Promise<Injected[]> {
  const done: Injected[] = [];
  const now = () => Math.round((Date.now() - startedAt) / 100) / 10;
  const run = async (fault: Fault, index: number) => {
    await sleep(Math.max(0, startedAt + fault.at * 1000 - Date.now()));
    const startedS = now();
    target.log(`${String(startedS).padStart(5)} s  ${fault.kind}${fault.target ? ` ${fault.target}` : ''}${fault.seconds ? ` for ${fault.seconds} s` : ''}`);
    const detail = await execute(fault, target, index);
    done.push({ ...fault, startedS, endedS: now(), ...(detail ? { detail } : {}) });
  };
  const lane = async (faults: [Fault, number][]) => {
    for (const [fault, index] of faults) await run(fault, index);
  };
  const indexed = faults.map((f, i) => [f, i] as [Fault, number]);
  await Promise.all([lane(indexed.filter(([f]) => f.kind !== 'pause')), ...indexed.filter(([f]) => f.kind === 'pause').map(([f, i]) => run(f, i))]);
  return done.sort((a, b) => a.startedS - b.startedS);
}
