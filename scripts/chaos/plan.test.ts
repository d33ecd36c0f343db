import { describe, expect, it } from 'vitest';
import { manifest } from '../../infra/manifest.js';
import { faultLabel, planFaults, type PlanOptions } from './plan.js';
import { processSpecs } from './system.js';

const specs = processSpecs(manifest);
const options: PlanOptions = {
  seed: 7,
  durationS: 45,
  processes: specs.map((s) => s.name),
  consumers: specs.filter((s) => s.role === 'consumer').map((s) => s.name),
  queues: ['shop.payments.process-payment', 'shop.orders.apply-payment-result'],
  pauseS: 25,
};

describe('processSpecs', () => {
  it('runs each service in one process, each relay and consumer in two more, and the gateway alone', () => {
    expect(specs.map((s) => s.name)).toEqual([
      'payments',
      'payments-relay-1',
      'payments-relay-2',
      'payments-consumer-1',
      'payments-consumer-2',
      'orders',
      'orders-relay-1',
      'orders-relay-2',
      'orders-consumer-1',
      'orders-consumer-2',
      'gateway',
    ]);
    expect(specs.find((s) => s.name === 'payments-relay-2')!.only).toEqual(['paymentsRelay']);
    expect(specs.find((s) => s.name === 'orders-consumer-1')!.only).toEqual(['applyPaymentResult']);
    // Every function of the manifest is hosted somewhere.
    const hosted = new Set(specs.flatMap((s) => s.only));
    expect(manifest.filter((f) => !hosted.has(f.name))).toEqual([]);
    expect(specs.find((s) => s.name === 'payments')!.only).toContain('migratePayments');
  });
});

describe('planFaults', () => {
  const plan = planFaults(options);

  it('draws the same schedule from the same seed, and another from another', () => {
    expect(planFaults(options)).toEqual(plan);
    expect(planFaults({ ...options, seed: 8 }).faults).not.toEqual(plan.faults);
  });

  it('kills every process, cuts the broker, terminates and restarts PostgreSQL, and poisons every queue', () => {
    const labels = new Set(plan.faults.map(faultLabel));
    for (const name of options.processes) expect(labels).toContain(`kill -9 ${name}`);
    for (const queue of options.queues) expect(labels).toContain(`poison message to ${queue}`);
    for (const label of ['RabbitMQ cut and restored', 'PostgreSQL connections terminated', 'PostgreSQL restart (proxy cut)']) expect(labels).toContain(label);
  });

  it('freezes one consumer for longer than two heartbeats, and kills it only outside its freeze', () => {
    const freezes = plan.faults.filter((f) => f.kind === 'pause');
    expect(freezes).toHaveLength(1);
    const [freeze] = freezes;
    expect(options.consumers).toContain(freeze!.target);
    expect(freeze!.seconds).toBeGreaterThan(20);
    for (let seed = 1; seed <= 50; seed++) {
      const faults = planFaults({ ...options, seed }).faults;
      const pause = faults.find((f) => f.kind === 'pause')!;
      const kills = faults.filter((f) => f.kind === 'kill' && f.target === pause.target);
      expect(kills.length, `seed ${seed}`).toBeGreaterThan(0);
      for (const kill of kills) expect(kill.at + kill.seconds < pause.at || kill.at > pause.at + pause.seconds, `seed ${seed}`).toBe(true);
    }
  });

  it('undoes every fault within the duration, one fault at a time besides the freeze', () => {
    const lane = plan.faults.filter((f) => f.kind !== 'pause');
    for (let i = 1; i < lane.length; i++) expect(lane[i]!.at).toBeGreaterThanOrEqual(lane[i - 1]!.at + lane[i - 1]!.seconds);
    expect(Math.max(...plan.faults.map((f) => f.at + f.seconds))).toBeLessThanOrEqual(options.durationS);
  });

  it('says so when the duration leaves no room for the freeze', () => {
    const short = planFaults({ ...options, durationS: 20 });
    expect(short.faults.some((f) => f.kind === 'pause')).toBe(false);
    expect(short.notes).toEqual([expect.stringMatching(/no consumer was frozen \(SIGSTOP\): --duration 20/)]);
  });
});
