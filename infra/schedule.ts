// Scheduled functions in the runner: invoked at their rate, at once when woken (NOTIFY), again at
// once when they report more work, and after a failure with a growing delay instead of their rate.
import type { ScheduledEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { log } from '../functions/lib/log.js';
import { backoff, type StartHost } from './host.js';
import { listen } from './listen.js';
import type { FunctionSpec } from './manifest.js';

export interface Schedule {
  wake(): void;
  stop(): Promise<void>;
}

export function startSchedule(name: string, intervalMs: number, invoke: () => Promise<unknown>): Schedule {
  let running: Promise<void> | undefined;
  let pending = false;
  let failures = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  let immediate: NodeJS.Immediate | undefined;
  const arm = (delayMs: number) => {
    clearTimeout(timer);
    clearImmediate(immediate);
    if (stopped) return;
    // setTimeout(0) waits for the next timers phase (about a millisecond); a wake-up should not.
    if (delayMs === 0) immediate = setImmediate(run);
    else timer = setTimeout(run, delayMs);
  };

  function run(): void {
    if (running || stopped) return;
    pending = false;
    running = invoke()
      .then((result) => {
        failures = 0;
        if ((result as { more?: boolean } | undefined)?.more) pending = true;
      })
      .catch((error: unknown) => {
        failures += 1;
        log.warn('schedule.failed', { function: name, failures, error });
      })
      .finally(() => {
        running = undefined;
        if (failures > 0) arm(backoff(failures));
        else if (pending) arm(0);
        else arm(intervalMs);
      });
  }

  arm(0);
  return {
    wake() {
      pending = true;
      // While failing, a wake-up waits for the backoff: it would fail the same way.
      if (!running && failures === 0) arm(0);
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearImmediate(immediate);
      await running;
    },
  };
}

/**
 * Every scheduled function this process hosts, at its rate (or SCHEDULE_INTERVAL_MS), and at once
 * when the PostgreSQL channel it wakes on is notified.
 */
export const runSchedules: StartHost = async ({ functions, config, invoke }) => {
  const scheduled = functions.filter((fn) => fn.schedules.length);
  if (scheduled.length === 0) return undefined;
  const wakeups = new Map<string, Schedule[]>();
  const schedules = scheduled.map((fn) => {
    const schedule = startSchedule(fn.name, config.scheduleIntervalMs || Math.min(...fn.schedules), () => invoke(fn, scheduledEvent(fn)));
    if (fn.wakeOn) wakeups.set(fn.wakeOn, [...(wakeups.get(fn.wakeOn) ?? []), schedule]);
    return schedule;
  });
  const listeners = [...wakeups].map(([channel, woken]) => listen(config.databaseUrl, channel, () => woken.forEach((s) => s.wake())));
  return {
    stop: async () => {
      await Promise.all([...schedules.map((s) => s.stop()), ...listeners.map((l) => l.stop())]);
    },
  };
};

/** The event EventBridge sends a scheduled function. */
function scheduledEvent(fn: FunctionSpec): ScheduledEvent {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString(),
    region: 'local',
    resources: [`arn:aws:events:local:000000000000:rule/${fn.name}`],
    detail: {},
  };
}
