// The chaos run's customers: each order or deposit is one attempt with its own Idempotency-Key,
// sent again with the same key and the same body after a 5xx, a 409, a 429 or a dropped connection,
// until it is acknowledged or the run gives up on it. An order's description names its attempt, so
// that two orders for one attempt can be found.

export type AttemptKind = 'order' | 'deposit' | 'wallet';
export type Outcome = 'pending' | 'acknowledged' | 'refused' | 'unacknowledged';

export interface Attempt {
  /** "order-17", "deposit-3", "wallet-2" */
  id: string;
  kind: AttemptKind;
  key: string;
  userId: number;
  amountCents: number;
  /** For an order: "chaos <run> order-17" */
  description?: string;
  outcome: Outcome;
  tries: number;
  /** The order id of the 201 */
  orderId?: string;
  /** Answers with Idempotent-Replayed: true */
  replayed: number;
  /** Every answer, by status ("503") or "network" */
  answers: Record<string, number>;
  /** The status and body of a refusal (a 4xx that retrying cannot change) */
  refusal?: string;
}

function toDecimal(cents: number): number {
  return cents / 100;
}

interface Sent {
  status: number | 'network';
  body: string;
  retryAfterS?: number;
  replayed: boolean;
}

async function send(url: string, key: string, body: unknown): Promise<Sent> {
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': key },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await response.text();
    const retryAfter = Number(response.headers.get('retry-after'));
    return {
      status: response.status,
      body: text,
      retryAfterS: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
      replayed: response.headers.get('idempotent-replayed') === 'true',
    };
  } catch {
    return { status: 'network', body: '', replayed: false };
  }
}

const retryable = (status: number | 'network') => status === 'network' || status >= 500 || status === 409 || status === 429;

/** How long to wait before the next try: growing, capped, with jitter, and at least Retry-After. */
function retryDelayMs(tries: number, retryAfterS?: number): number {
  const grown = Math.min(2_000, 50 * 2 ** Math.min(tries, 10));
  const jittered = grown / 2 + Math.random() * (grown / 2);
  return Math.max(jittered, Math.min(retryAfterS ?? 0, 5) * 1000);
}

export class Clients {
  readonly attempts: Attempt[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private counters: Record<AttemptKind, number> = { order: 0, deposit: 0, wallet: 0 };

  constructor(
    private readonly baseUrl: string,
    private readonly runId: string,
    /** No try starts after this moment (ms since the epoch); the attempt is then unacknowledged */
    private giveUpAt: number,
  ) {}

  setGiveUpAt(at: number): void {
    this.giveUpAt = at;
  }

  private start(kind: AttemptKind, userId: number, amountCents: number): Attempt {
    const id = `${kind}-${++this.counters[kind]}`;
    const attempt: Attempt = { id, kind, key: `${this.runId}-${id}`, userId, amountCents, outcome: 'pending', tries: 0, replayed: 0, answers: {} };
    if (kind === 'order') attempt.description = `chaos ${this.runId} ${id}`;
    this.attempts.push(attempt);
    const done = this.run(attempt).finally(() => this.inFlight.delete(done));
    this.inFlight.add(done);
    return attempt;
  }

  createWallet(userId: number): Attempt {
    return this.start('wallet', userId, 0);
  }

  deposit(userId: number, amountCents: number): Attempt {
    return this.start('deposit', userId, amountCents);
  }

  order(userId: number, amountCents: number): Attempt {
    return this.start('order', userId, amountCents);
  }

  /** Resolves when every attempt started so far is acknowledged, refused or given up. */
  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }

  private request(attempt: Attempt): { url: string; body: unknown; success: number } {
    switch (attempt.kind) {
      case 'wallet':
        return { url: '/api/wallet/create', body: { user_id: attempt.userId }, success: 201 };
      case 'deposit':
        return { url: `/api/wallet/${attempt.userId}/deposit`, body: { amount: toDecimal(attempt.amountCents) }, success: 200 };
      case 'order':
        return { url: '/api/purchase', body: { user_id: attempt.userId, amount: toDecimal(attempt.amountCents), description: attempt.description }, success: 201 };
    }
  }

  private async run(attempt: Attempt): Promise<void> {
    const { url, body, success } = this.request(attempt);
    for (;;) {
      attempt.tries += 1;
      const answer = await send(this.baseUrl + url, attempt.key, body);
      attempt.answers[String(answer.status)] = (attempt.answers[String(answer.status)] ?? 0) + 1;
      if (answer.replayed) attempt.replayed += 1;
      // A wallet that already exists is what a retried creation should find.
      const alreadyThere = attempt.kind === 'wallet' && answer.status === 409 && !answer.body.includes('idempotency-key-in-use');
      if (answer.status === success || alreadyThere) {
        attempt.outcome = 'acknowledged';
        if (attempt.kind === 'order') attempt.orderId = (JSON.parse(answer.body) as { id: string }).id;
        return;
      }
      if (!retryable(answer.status)) {
        attempt.outcome = 'refused';
        attempt.refusal = `${answer.status} ${answer.body.slice(0, 300)}`;
        return;
      }
      const delay = retryDelayMs(attempt.tries, answer.retryAfterS);
      if (Date.now() + delay > this.giveUpAt) {
        attempt.outcome = 'unacknowledged';
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}
