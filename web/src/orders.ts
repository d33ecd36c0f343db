// The orders the page shows: newest first, one row per order, and never NEW again once an outcome is
// known, whichever arrives first: the list, the order's creation or the stream's event.
import type { Purchase, StatusChange } from './api.js';

function withOutcome(order: Purchase, outcome: StatusChange | undefined): Purchase {
  if (!outcome || order.status !== 'NEW') return order;
  return { ...order, status: outcome.status, reason: outcome.reason, updated_at: outcome.updated_at };
}

/** `incoming` (a fresh list, or one new order) merged into `current`, with every known outcome applied. */
export function mergeOrders(current: Purchase[], incoming: Purchase[], outcomes: ReadonlyMap<string, StatusChange>): Purchase[] {
  const byId = new Map<string, Purchase>();
  for (const order of [...incoming, ...current]) {
    const known = byId.get(order.id);
    // A status only moves away from NEW, so a settled copy wins over a NEW one, however old.
    if (!known || (known.status === 'NEW' && order.status !== 'NEW')) byId.set(order.id, order);
  }
  return [...byId.values()].map((order) => withOutcome(order, outcomes.get(order.id))).sort((a, b) => b.created_at.localeCompare(a.created_at));
}

/** Orders still NEW that were created more than `ms` ago: worth reading again. */
export function waitingLongerThan(orders: Purchase[], ms: number, now = Date.now()): boolean {
  return orders.some((order) => order.status === 'NEW' && now - Date.parse(order.created_at) > ms);
}
