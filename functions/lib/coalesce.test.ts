// Group commit, with a write of our own in place of the statement: when it is called, with what, and
// what each caller gets back.
import { describe, expect, it } from 'vitest';
import { coalesce } from './coalesce.js';

/** A write whose calls are recorded and finished by the test. */
function heldWrite() {
  const calls: { items: number[]; finish(): void; fail(error: Error): void }[] = [];
  const write = (items: number[]) =>
    new Promise<string[]>((resolve, reject) => {
      calls.push({ items, finish: () => resolve(items.map((i) => `row ${i}`)), fail: reject });
    });
  return { calls, write };
}

describe('coalesce', () => {
  it('writes a call at once when nothing is being written', async () => {
    const { calls, write } = heldWrite();
    const place = coalesce(write, 10);
    const answer = place(1);
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.finish();
    expect(await answer).toBe('row 1');
  });

  it('writes the calls that came during a write together, each answered with its own row', async () => {
    const { calls, write } = heldWrite();
    const place = coalesce(write, 10);
    const answers = [place(1), place(2), place(3), place(4)];
    expect(calls.map((c) => c.items)).toEqual([[1]]);
    calls[0]!.finish();
    await answers[0];
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3, 4]]);
    calls[1]!.finish();
    expect(await Promise.all(answers)).toEqual(['row 1', 'row 2', 'row 3', 'row 4']);
  });

  it('writes no more than maxBatch at once', async () => {
    const { calls, write } = heldWrite();
    const place = coalesce(write, 2);
    const answers = [1, 2, 3, 4, 5, 6].map(place);
    calls[0]!.finish();
    await answers[0];
    calls[1]!.finish();
    await answers[2];
    calls[2]!.finish();
    await answers[4];
    calls[3]!.finish();
    await Promise.all(answers);
    expect(calls.map((c) => c.items)).toEqual([[1], [2, 3], [4, 5], [6]]);
  });

  it('writes each call of a failed batch on its own, so that only the bad one fails', async () => {
    const written: number[][] = [];
    const place = coalesce(async (items: number[]) => {
      written.push(items);
      if (items.includes(3)) throw new Error(`cannot write ${items.join(', ')}`);
      return items.map((i) => `row ${i}`);
    }, 10);
    const answers = [1, 2, 3, 4].map((i) => place(i).catch((error: Error) => error.message));
    expect(await Promise.all(answers)).toEqual(['row 1', 'row 2', 'cannot write 3', 'row 4']);
    expect(written).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });

  it('fails a lone call with its error, written once', async () => {
    let writes = 0;
    const place = coalesce(async () => {
      writes += 1;
      throw new Error('the database is unavailable');
    }, 10);
    await expect(place(1)).rejects.toThrow('the database is unavailable');
    expect(writes).toBe(1);
  });
});
