// The shop's HTTP API as the page uses it, on the page's own origin: JSON in and out, money kept as
// the exact text of its number, and every failure either a problem from the API or a network failure.
export type OrderStatus = 'NEW' | 'FINISHED' | 'CANCELLED';
export type RefusalReason = 'wallet_not_found' | 'insufficient_funds';

export interface Wallet {
  user_id: number;
  /** The exact decimal text, e.g. "12.50" */
  balance: string;
  created_at: string;
}

export interface Purchase {
  id: string;
  user_id: number;
  amount: string;
  description: string;
  status: OrderStatus;
  reason: RefusalReason | null;
  created_at: string;
  updated_at: string;
}

/** The data of a `status` event of GET /api/purchases/stream */
export interface StatusChange {
  id: string;
  user_id: number;
  amount: string;
  status: OrderStatus;
  reason: RefusalReason | null;
  updated_at: string;
}

interface FieldProblem {
  in: string;
  /** A JSON pointer into the body ("/amount") or a parameter name ("user_id") */
  name: string;
  detail: string;
}

/** An error answer of the API (application/problem+json), or of something in front of it. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    detail: string,
    readonly errors: FieldProblem[] = [],
  ) {
    super(detail);
  }
}

/** No answer at all: offline, or the gateway is down. */
class NetworkFailure extends Error {
  constructor() {
    super('The shop cannot be reached. Check your connection.');
  }
}

/** True when trying again later may help: no answer, or the gateway could not reach a service. */
export function isUnavailable(error: unknown): boolean {
  return error instanceof NetworkFailure || (error instanceof ApiProblem && [502, 503, 504].includes(error.status));
}

const moneyFields = new Set(['amount', 'balance']);

/** JSON.parse that keeps money as the text of its number: 12.30 stays "12.30", even beyond 2^53. */
export function parseJson<T>(text: string): T {
  return JSON.parse(text, (key: string, value: unknown, context?: { source?: string }) =>
    // Browsers without JSON.parse source text access get the number rounded to cents.
    typeof value === 'number' && moneyFields.has(key) ? (context?.source ?? value.toFixed(2)) : value,
  ) as T;
}

function problemOf(response: Response, text: string): ApiProblem {
  try {
    const body = JSON.parse(text) as { detail?: unknown; errors?: unknown };
    if (typeof body.detail === 'string') {
      return new ApiProblem(response.status, body.detail, Array.isArray(body.errors) ? (body.errors as FieldProblem[]) : []);
    }
  } catch {
    // Not a problem document (a proxy's error page): say what we know.
  }
  return new ApiProblem(response.status, `The shop answered ${response.status} ${response.statusText}`.trim());
}

/** A fresh Idempotency-Key; crypto.randomUUID needs a secure context, getRandomValues does not. */
export function newIdempotencyKey(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

async function request<T>(method: 'GET' | 'POST', path: string, body?: unknown, idempotencyKey?: string): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (idempotencyKey) headers['idempotency-key'] = idempotencyKey;
  let response: Response;
  let text: string;
  try {
    response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    text = await response.text();
  } catch {
    throw new NetworkFailure();
  }
  if (!response.ok) throw problemOf(response, text);
  return parseJson<T>(text);
}

/** How many orders the page lists */
const pageSize = 50;

// Each action sends an Idempotency-Key: retried with the same key, it is never done twice.
export const api = {
  /** The user's wallet, or undefined when the user has none yet (404); `userId` as typed: the API judges it */
  findWallet: async (userId: string): Promise<Wallet | undefined> => {
    try {
      return await request<Wallet>('GET', `/api/wallet/${encodeURIComponent(userId)}`);
    } catch (error) {
      if (error instanceof ApiProblem && error.status === 404) return undefined;
      throw error;
    }
  },
  createWallet: (key: string, userId: number) => request<Wallet>('POST', '/api/wallet/create', { user_id: userId }, key),
  deposit: (key: string, userId: number, amount: number) => request<Wallet>('POST', `/api/wallet/${userId}/deposit`, { amount }, key),
  placeOrder: (key: string, userId: number, amount: number, description: string) =>
    request<Purchase>('POST', '/api/purchase', { user_id: userId, amount, description }, key),
  listOrders: async (userId: number) =>
    (await request<{ purchases: Purchase[] }>('GET', `/api/purchases?user_id=${userId}&limit=${pageSize}`)).purchases,
  streamUrl: (userId: number) => `/api/purchases/stream?user_id=${userId}`,
};
