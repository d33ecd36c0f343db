// The integration events between services: one envelope, one payload type per message type.
export type RefusalReason = 'wallet_not_found' | 'insufficient_funds';
export type OrderStatus = 'NEW' | 'FINISHED' | 'CANCELLED';

export interface Payloads {
  /** orders -> payments: charge this order to the user's wallet */
  'order.payment_requested': { order_id: string; user_id: number; amount: string };
  /** payments -> orders: the wallet was debited */
  'payment.succeeded': { order_id: string; user_id: number; amount: string };
  /** payments -> orders: the order cannot be paid */
  'payment.failed': { order_id: string; user_id: number; amount: string; reason: RefusalReason };
  /** orders -> anyone listening (the gateway's browsers): an order reached its final status */
  'order.status_changed': {
    order_id: string;
    user_id: number;
    amount: string;
    status: OrderStatus;
    reason: RefusalReason | null;
    updated_at: string;
  };
}

export type MessageType = keyof Payloads;

export interface Envelope<T extends MessageType = MessageType> {
  message_id: string;
  type: T;
  occurred_at: string;
  payload: Payloads[T];
}

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const decimal = /^\d{1,12}\.\d{2}$/;
const reasons: readonly string[] = ['wallet_not_found', 'insufficient_funds'];

type Check = (payload: Record<string, unknown>) => boolean;
const isOrderRef: Check = (p) =>
  typeof p.order_id === 'string' && uuid.test(p.order_id) && Number.isSafeInteger(p.user_id) && (p.user_id as number) > 0 &&
  typeof p.amount === 'string' && decimal.test(p.amount) && /[1-9]/.test(p.amount);

const payloadChecks: Record<MessageType, Check> = {
  'order.payment_requested': isOrderRef,
  'payment.succeeded': isOrderRef,
  'payment.failed': (p) => isOrderRef(p) && reasons.includes(p.reason as string),
  'order.status_changed': (p) => isOrderRef(p) && ['NEW', 'FINISHED', 'CANCELLED'].includes(p.status as string),
};

/** Parses a message body; undefined when it is not an envelope of one of the expected types. */
export function parseEnvelope<T extends MessageType>(body: string, types: readonly T[]): Envelope<T> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const e = value as Record<string, unknown>;
  if (typeof e.message_id !== 'string' || !uuid.test(e.message_id)) return undefined;
  if (!types.includes(e.type as T) || typeof e.occurred_at !== 'string') return undefined;
  if (e.payload === null || typeof e.payload !== 'object') return undefined;
  if (!payloadChecks[e.type as T](e.payload as Record<string, unknown>)) return undefined;
  return value as Envelope<T>;
}
