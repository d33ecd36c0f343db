// The chaos run's report: what was tried, what broke and what held, as JSON and as a scoreboard
// a person reads at a glance.
import type { BadInputReport } from './badInput.js';
import { money, type Verdict } from './checks.js';
import type { Injected } from './faults.js';

export interface Report {
  seed: number;
  namespace: string;
  startedAt: string;
  options: { durationS: number; ordersPerSecond: number; badInputs: number; settleTimeoutS: number };
  orders: Verdict['orders'];
  deposits: Verdict['deposits'];
  money: Verdict['money'];
  payments: Verdict['payments'];
  faults: { byKind: Record<string, number>; injected: Injected[] };
  settle: { settled: boolean; secondsAfterLastFault: number | null; backlog: unknown };
  deadLetters: { poisonPublished: number; poisonDeadLettered: number; unexpected: { queue: string; messageId: string | null; type: string | null; orderId: string | null; reason: string | null }[] };
  badInput: BadInputReport & { stateChanges: string[] };
  processes: { restarts: Record<string, number>; unexpectedExits: { process: string; code: number | string; at: string }[] };
  notes: string[];
  logs: string;
  violations: string[];
  seconds: number;
}

const counts = (record: Record<string, number>) =>
  Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

export function renderScoreboard(r: Report): string {
  const line = (label: string, text: string) => `${label.padEnd(12)}${text}`;
  const o = r.orders;
  const m = r.money;
  const b = r.badInput;
  const rows = [
    `Shop chaos scoreboard: seed ${r.seed}, ${r.options.durationS} s of faults, ${r.options.ordersPerSecond} orders/s, namespace ${r.namespace}`,
    line('orders', `attempted ${o.attempted}, acknowledged ${o.acknowledged}, lost ${o.lost}, duplicated ${o.duplicated}, stuck ${o.stuck}` +
      `, unexpected ${o.unexpected}, refused ${o.refused}, unacknowledged ${o.unacknowledged}`),
    line('', `FINISHED ${o.finished}, CANCELLED ${o.cancelled}; ${o.retried} retried through errors, ${o.replayed} answered by a replay`),
    line('deposits', `attempted ${r.deposits.attempted}, acknowledged ${r.deposits.acknowledged}, refused ${r.deposits.refused}, unacknowledged ${r.deposits.unacknowledged}; ` +
      `${r.deposits.retried} retried, ${r.deposits.replayed} answered by a replay`),
    line('money', `created ${money(m.createdCents)}, destroyed ${money(m.destroyedCents)}; ${m.wallets} wallets hold ${money(m.actualCents)}, ` +
      `deposits less paid orders ${money(m.expectedCents)}; ledger differs for ${m.ledgerMismatches}, negative ${m.negativeBalances}`),
    line('payments', `FINISHED without one payment ${r.payments.finishedWithoutPayment}, paid but not FINISHED ${r.payments.paidButNotFinished}, ` +
      `wrong amount ${r.payments.wrongAmount}, for unknown orders ${r.payments.forUnknownOrders}`),
    line('faults', counts(r.faults.byKind)),
    line('settle', r.settle.settled ? `${r.settle.secondsAfterLastFault} s after the last fault was undone` : `NOT settled: ${JSON.stringify(r.settle.backlog)}`),
    line('poison', `${r.deadLetters.poisonPublished} published, ${r.deadLetters.poisonDeadLettered} in their dead-letter queues; ` +
      `${r.deadLetters.unexpected.length} other dead letters`),
    line('bad input', `${b.tried} tried, ${b.serverErrors} 5xx, ${b.noAnswer} unanswered, ${b.accepted} accepted, ${b.stateChanges.length} tables changed`),
    line('', `answers: ${counts(b.byStatus)}`),
    line('processes', `${Object.values(r.processes.restarts).reduce((a, n) => a + n, 0)} restarts, ${r.processes.unexpectedExits.length} exits nobody caused`),
    ...r.notes.map((n) => line('note', n)),
    line('logs', r.logs),
    line('verdict', r.violations.length ? `${r.violations.length} VIOLATION(S), in ${r.seconds} s` : `clean, in ${r.seconds} s`),
    ...r.violations.map((v) => `  - ${v}`),
  ];
  return rows.join('\n');
}
