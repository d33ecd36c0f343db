// Group commit for a statement that many requests make at once: a call made while a batch is being
// written waits and goes with the others in the next one (one statement and one commit for them
// all); on an idle service a call goes at once, so it waits for nothing.
type Write<In, Out> = (items: In[]) => Promise<Out[]>;

interface Waiting<In, Out> {
  item: In;
  resolve(out: Out): void;
  reject(error: unknown): void;
}

export function coalesce<In, Out>(write: Write<In, Out>, maxBatch: number): (item: In) => Promise<Out> {
  const queue: Waiting<In, Out>[] = [];
  let writing = false;

  const writeAlone = (w: Waiting<In, Out>) => write([w.item]).then(([out]) => w.resolve(out!), w.reject);

  async function drain(): Promise<void> {
    writing = true;
    while (queue.length) {
      const batch = queue.splice(0, maxBatch);
      try {
        const outs = await write(batch.map((w) => w.item));
        batch.forEach((w, i) => w.resolve(outs[i]!));
      } catch (error) {
        // The statement for the batch failed: each call again on its own, so that each gets the
        // answer its own item deserves (most often the same: the database is unavailable).
        if (batch.length === 1) batch[0]!.reject(error);
        else await Promise.all(batch.map(writeAlone));
      }
    }
    writing = false;
  }

  return (item) =>
    new Promise<Out>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      if (!writing) void drain();
    });
}
