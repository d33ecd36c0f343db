import { describe, expect, it } from 'vitest';
import { parseChaosArgs, UsageError } from './chaos.js';
import { renderScoreboard, type Report } from './chaos/scoreboard.js';

describe('parseChaosArgs', () => {
  it('has short defaults for CI and a random seed', () => {
    const options = parseChaosArgs([], {});
    expect(options).toMatchObject({
      durationS: 45,
      ordersPerSecond: 20,
      jsonPath: 'chaos-report.json',
      badInputs: 10_000,
      postgresUrl: 'postgres://postgres@127.0.0.1:5432',
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
    });
    expect(Number.isInteger(options.seed)).toBe(true);
  });

  it('reads every flag, and the servers from the environment', () => {
    const options = parseChaosArgs(['--seed', '7', '--duration', '60', '--orders-per-second', '2.5', '--json', 'out.json', '--bad-inputs', '100'], {
      CHAOS_POSTGRES_URL: 'postgres://pg:5433',
      AMQP_URL: 'amqp://rabbit',
    });
    expect(options).toMatchObject({ seed: 7, durationS: 60, ordersPerSecond: 2.5, jsonPath: 'out.json', badInputs: 100, postgresUrl: 'postgres://pg:5433', amqpUrl: 'amqp://rabbit' });
  });

  it.each([
    [['--seed'], /--seed needs an integer from 0 to 4294967295, got nothing/],
    [['--seed', '1.5'], /--seed needs an integer/],
    [['--duration', '2'], /--duration needs an integer from 5 to 3600, got "2"/],
    [['--orders-per-second', 'many'], /--orders-per-second needs a number/],
    [['--json'], /--json needs a file name/],
    [['--fast'], /unknown option "--fast"/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseChaosArgs(argv, {})).toThrow(UsageError);
    expect(() => parseChaosArgs(argv, {})).toThrow(message);
  });
});

describe('renderScoreboard', () => {
  const report: Report = {
    seed: 7,
    namespace: 'chaos_0a1b2c3d',
    startedAt: '2025-11-25T17:00:00.000Z',
    options: { durationS: 45, ordersPerSecond: 20, badInputs: 10_000, settleTimeoutS: 90 },
    orders: { attempted: 900, acknowledged: 900, unacknowledged: 0, refused: 0, lost: 0, duplicated: 1, stuck: 0, unexpected: 0, finished: 700, cancelled: 201, retried: 80, replayed: 12 },
    deposits: { attempted: 225, acknowledged: 225, unacknowledged: 0, refused: 0, retried: 20, replayed: 3 },
    money: { wallets: 12, expectedCents: 123_45, actualCents: 123_45, createdCents: 0, destroyedCents: 0, negativeBalances: 0, ledgerMismatches: 0 },
    payments: { finishedWithoutPayment: 0, paidButNotFinished: 0, wrongAmount: 0, forUnknownOrders: 0 },
    faults: { byKind: { 'kill -9 gateway': 1, 'RabbitMQ cut and restored': 1 }, injected: [] },
    settle: { settled: true, secondsAfterLastFault: 1.5, backlog: {} },
    deadLetters: { poisonPublished: 2, poisonDeadLettered: 2, unexpected: [] },
    badInput: { tried: 10_000, byCategory: {}, byRoute: {}, byStatus: { '400': 9_000, '413': 1_000 }, serverErrors: 0, noAnswer: 0, accepted: 0, examples: [], stateChanges: [] },
    processes: { restarts: { gateway: 1, orders: 2 }, unexpectedExits: [] },
    notes: ['a note'],
    logs: 'test-output/chaos/chaos_0a1b2c3d',
    violations: ['duplicated: order-5 made 2 orders (a, b) after 3 tries'],
    seconds: 70,
  };

  it('says what was tried, what held and what broke, one line each', () => {
    const lines = renderScoreboard(report).split('\n');
    expect(lines[0]).toBe('Shop chaos scoreboard: seed 7, 45 s of faults, 20 orders/s, namespace chaos_0a1b2c3d');
    expect(lines).toContain('orders      attempted 900, acknowledged 900, lost 0, duplicated 1, stuck 0, unexpected 0, refused 0, unacknowledged 0');
    expect(lines).toContain('money       created 0.00, destroyed 0.00; 12 wallets hold 123.45, deposits less paid orders 123.45; ledger differs for 0, negative 0');
    expect(lines).toContain('faults      kill -9 gateway 1, RabbitMQ cut and restored 1');
    expect(lines).toContain('settle      1.5 s after the last fault was undone');
    expect(lines).toContain('bad input   10000 tried, 0 5xx, 0 unanswered, 0 accepted, 0 tables changed');
    expect(lines).toContain('processes   3 restarts, 0 exits nobody caused');
    expect(lines.slice(-2)).toEqual(['verdict     1 VIOLATION(S), in 70 s', '  - duplicated: order-5 made 2 orders (a, b) after 3 tries']);
  });
});
