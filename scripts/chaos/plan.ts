// The fault schedule of a chaos run, drawn from its seed: the same seed, duration and processes give
// the same faults at the same moments. Every process is killed at least once; the broker is cut,
// PostgreSQL connections are terminated, PostgreSQL "restarts", a poison message goes to each queue,
// and, when the run is long enough, one consumer is frozen for longer than its heartbeat.
import { seeded } from './random.js';

export type FaultKind = 'kill' | 'pause' | 'broker-cut' | 'postgres-terminate' | 'postgres-restart' | 'poison';

export interface Fault {
  /** Seconds from the start of the fault phase */
  at: number;
  kind: FaultKind;
  /** The process (kill, pause) or the queue (poison) it hits */
  target?: string;
  /** Seconds until it is undone: the restart, SIGCONT or restore */
  seconds: number;
}

export interface PlanOptions {
  seed: number;
  durationS: number;
  /** Every process of the system, by name */
  processes: readonly string[];
  /** The consumer processes, one of which may be frozen */
  consumers: readonly string[];
  /** The consumer queues, each of which gets a poison message */
  queues: readonly string[];
  /** How long a frozen consumer stays frozen; longer than two heartbeats (10 s each) */
  pauseS: number;
}

interface Plan {
  faults: Fault[];
  notes: string[];
}

/** Seconds between two faults when the duration leaves room for more than the required ones. */
const spacingS = 2.5;
/** The broker or PostgreSQL stays away this long (seconds), drawn between the two. */
const outageS: [number, number] = [2, 5];
/** A killed process is restarted after this long (seconds), drawn between the two. */
const restartS: [number, number] = [0.3, 2];

const round = (seconds: number) => Math.round(seconds * 10) / 10;

export function planFaults({ seed, durationS, processes, consumers, queues, pauseS }: PlanOptions): Plan {
  const random = seeded(seed);
  const between = ([min, max]: [number, number]) => round(min + random.next() * (max - min));
  const draw = (kind: FaultKind, target?: string): Omit<Fault, 'at'> => {
    const seconds = kind === 'kill' ? between(restartS) : kind === 'broker-cut' || kind === 'postgres-restart' ? between(outageS) : 0;
    return target === undefined ? { kind, seconds } : { kind, target, seconds };
  };

  const notes: string[] = [];
  let pause: Fault | undefined;
  if (consumers.length && durationS >= pauseS + 10) {
    const latest = durationS - pauseS - 2;
    const earliest = Math.min(latest, Math.max(6, durationS / 4));
    pause = { at: round(earliest + random.next() * (latest - earliest)), kind: 'pause', target: random.pick(consumers), seconds: pauseS };
  } else {
    notes.push(`no consumer was frozen (SIGSTOP): --duration ${durationS} leaves no room for a ${pauseS} s freeze, which needs ${pauseS + 10} s`);
  }

  const required = [
    ...processes.map((p) => draw('kill', p)),
    draw('broker-cut'),
    draw('postgres-restart'),
    draw('postgres-terminate'),
    draw('postgres-terminate'),
    ...queues.map((q) => draw('poison', q)),
  ];
  const extra: Omit<Fault, 'at'>[] = [];
  const slots = Math.max(required.length, Math.floor(durationS / spacingS));
  while (required.length + extra.length < slots) {
    const kind = random.pick<FaultKind>(['kill', 'kill', 'kill', 'broker-cut', 'postgres-terminate', 'postgres-restart']);
    const target = kind === 'kill' ? random.pick(processes.filter((p) => p !== pause?.target)) : undefined;
    extra.push(draw(kind, target));
  }
  // The frozen consumer is killed first, before its freeze: a kill would end the freeze early.
  const shuffled = random.shuffle([...required, ...extra]);
  const lane = [...shuffled.filter((f) => f.target === pause?.target), ...shuffled.filter((f) => f.target !== pause?.target)];
  // One after another, the time left over spread between them, so the last is undone in time.
  const busy = lane.reduce((total, f) => total + f.seconds, 0);
  const gap = Math.max(0.2, (durationS - busy) / lane.length);
  let cursor = 0;
  const faults: Fault[] = lane.map((fault) => {
    const at = round(cursor + gap * (0.2 + random.next() * 0.8));
    cursor = at + fault.seconds;
    return { at, ...fault };
  });
  if (pause) faults.push(pause);
  faults.sort((a, b) => a.at - b.at);
  return { faults, notes };
}

/** How a fault reads in the scoreboard's count by kind: "kill -9 payments-relay-1", "RabbitMQ cut". */
export function faultLabel(fault: Pick<Fault, 'kind' | 'target'>): string {
  switch (fault.kind) {
    case 'kill':
      return `kill -9 ${fault.target}`;
    case 'pause':
      return `SIGSTOP/SIGCONT ${fault.target}`;
    case 'broker-cut':
      return 'RabbitMQ cut and restored';
    case 'postgres-terminate':
      return 'PostgreSQL connections terminated';
    case 'postgres-restart':
      return 'PostgreSQL restart (proxy cut)';
    case 'poison':
      return `poison message to ${fault.target}`;
  }
}
