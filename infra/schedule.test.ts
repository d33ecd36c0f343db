import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoff } from './host.js';
import { startSchedule, type Schedule } from './schedule.js';

interface Run {
  resolve(result?: unknown): void;
  reject(error: Error): void;
}

const unsettled: Run[] = [];

/** An invoke whose runs stay in flight until the test settles them. */
function controlled() {
  const runs: Run[] = [];
  const invoke = () =>
    new Promise<unknown>((resolve, reject) => {
      runs.push({ resolve, reject });
      unsettled.push({ resolve, reject });
    });
  return { runs, invoke };
}

const schedules: Schedule[] = [];
function start(intervalMs: number, invoke: () => Promise<unknown>): Schedule {
  const schedule = startSchedule('test', intervalMs, invoke);
  schedules.push(schedule);
  return schedule;
}

/** Lets due timers fire and settled promises run on, without moving the clock. */
const settle = () => vi.advanceTimersByTimeAsync(0);
const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(async () => {
  for (const run of unsettled.splice(0)) run.resolve();
  await Promise.all(schedules.splice(0).map((s) => s.stop()));
  vi.useRealTimers();
});

describe('startSchedule', () => {
  it('invokes at once on start and then at its interval', async () => {
    const invoke = vi.fn(async () => undefined);
    start(50, invoke);
    await settle();
    expect(invoke).toHaveBeenCalledTimes(1);
    await advance(49);
    expect(invoke).toHaveBeenCalledTimes(1);
    await advance(1);
    expect(invoke).toHaveBeenCalledTimes(2);
    await advance(50);
    expect(invoke).toHaveBeenCalledTimes(3);
    await advance(500);
    expect(invoke).toHaveBeenCalledTimes(13);
  });

  it('counts the interval from the end of a run, never overlapping runs', async () => {
    const { runs, invoke } = controlled();
    start(50, invoke);
    await settle();
    await advance(200);
    expect(runs).toHaveLength(1);
    runs[0]!.resolve();
    await advance(49);
    expect(runs).toHaveLength(1);
    await advance(1);
    expect(runs).toHaveLength(2);
  });

  it('runs at once when woken, and restarts its interval from there', async () => {
    const invoke = vi.fn(async () => undefined);
    const schedule = start(1000, invoke);
    await settle();
    await advance(300);
    schedule.wake();
    await settle();
    expect(invoke).toHaveBeenCalledTimes(2);
    await advance(999);
    expect(invoke).toHaveBeenCalledTimes(2);
    await advance(1);
    expect(invoke).toHaveBeenCalledTimes(3);
  });

  it('turns several wakes during a run into exactly one more run', async () => {
    const { runs, invoke } = controlled();
    const schedule = start(1000, invoke);
    await settle();
    expect(runs).toHaveLength(1);
    schedule.wake();
    schedule.wake();
    schedule.wake();
    await settle();
    expect(runs).toHaveLength(1);
    runs[0]!.resolve();
    await settle();
    expect(runs).toHaveLength(2);
    runs[1]!.resolve();
    await advance(999);
    expect(runs).toHaveLength(2);
    await advance(1);
    expect(runs).toHaveLength(3);
  });

  it('runs again at once while a run reports more work', async () => {
    const { runs, invoke } = controlled();
    start(1000, invoke);
    await settle();
    runs[0]!.resolve({ more: true });
    await settle();
    expect(runs).toHaveLength(2);
    runs[1]!.resolve({ more: true });
    await settle();
    expect(runs).toHaveLength(3);
    runs[2]!.resolve({ more: false });
    await advance(999);
    expect(runs).toHaveLength(3);
    await advance(1);
    expect(runs).toHaveLength(4);
  });

  it('retries a failure after a growing backoff, not at its interval, then resumes its interval', async () => {
    const { runs, invoke } = controlled();
    start(1000, invoke);
    await settle();
    runs[0]!.reject(new Error('database down'));
    await advance(backoff(1) - 1);
    expect(runs).toHaveLength(1);
    await advance(1);
    expect(runs).toHaveLength(2);
    runs[1]!.reject(new Error('database down'));
    await advance(backoff(2) - 1);
    expect(runs).toHaveLength(2);
    await advance(1);
    expect(runs).toHaveLength(3);
    runs[2]!.resolve();
    await advance(999);
    expect(runs).toHaveLength(3);
    await advance(1);
    expect(runs).toHaveLength(4);
  });

  it('does not let a wake during the backoff bypass it', async () => {
    const { runs, invoke } = controlled();
    const schedule = start(1000, invoke);
    await settle();
    runs[0]!.reject(new Error('broker down'));
    await advance(10);
    schedule.wake();
    schedule.wake();
    await settle();
    expect(runs).toHaveLength(1);
    await advance(backoff(1) - 10);
    expect(runs).toHaveLength(2);
    runs[1]!.resolve();
    await settle();
    // The wake-up was served by the retry: the next run is at the interval.
    expect(runs).toHaveLength(2);
    await advance(1000);
    expect(runs).toHaveLength(3);
  });

  it('starts the backoff over after a success', async () => {
    const { runs, invoke } = controlled();
    start(1000, invoke);
    await settle();
    runs[0]!.reject(new Error('down'));
    await advance(backoff(1));
    runs[1]!.resolve();
    await advance(1000);
    expect(runs).toHaveLength(3);
    runs[2]!.reject(new Error('down again'));
    await advance(backoff(1));
    expect(runs).toHaveLength(4);
  });

  it('stop() waits for the run in flight, and nothing runs after it', async () => {
    const { runs, invoke } = controlled();
    const schedule = start(50, invoke);
    await settle();
    let stopped = false;
    const stopping = schedule.stop().then(() => {
      stopped = true;
    });
    await advance(100);
    expect(stopped).toBe(false);
    runs[0]!.resolve({ more: true });
    await stopping;
    expect(stopped).toBe(true);
    schedule.wake();
    await advance(10_000);
    expect(runs).toHaveLength(1);
  });

  it('stop() while idle cancels the next run', async () => {
    const invoke = vi.fn(async () => undefined);
    const schedule = start(50, invoke);
    await settle();
    await schedule.stop();
    schedule.wake();
    await advance(1000);
    expect(invoke).toHaveBeenCalledTimes(1);
  });

  it('stop() during a backoff cancels the retry', async () => {
    const { runs, invoke } = controlled();
    const schedule = start(50, invoke);
    await settle();
    runs[0]!.reject(new Error('down'));
    await settle();
    await schedule.stop();
    await advance(10_000);
    expect(runs).toHaveLength(1);
  });
});

describe('backoff', () => {
  it('doubles from 100 ms per failure up to 5 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 100].map((n) => backoff(n))).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000]);
  });

  it('treats no failure yet like the first', () => {
    expect(backoff(0)).toBe(100);
  });

  it('takes its own base and ceiling', () => {
    expect([1, 2, 3, 4].map((n) => backoff(n, 10, 50))).toEqual([10, 20, 40, 50]);
  });
});
