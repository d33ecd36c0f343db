// Scheduled functions in the runner: invoked at their rate, at once when woken (NOTIFY), again at
// once when they report more work, and after a failure with a growing delay instead of their rate.
import { log } from '../functions/lib/log.js';

export interface Schedule {
  wake(): void;
  stop(): Promise<void>;
}

export function backoff(failures: number, baseMs = 100, maxMs = 5_000): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
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
