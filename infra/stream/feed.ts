// The gateway's memory of order status changes: the last changes and gaps, numbered, to replay to a
// browser that reconnects with Last-Event-ID, and the listeners of the next ones.
import { randomBytes } from 'node:crypto';
import type { Payloads } from '../../functions/lib/messages.js';

export type StatusChange = Payloads['order.status_changed'];

interface ChangeEntry { seq: number; messageId: string; change: StatusChange }
/** A gap: changes published while no queue of ours was bound are lost to this gateway. */
interface GapEntry { seq: number; gap: true }
export type FeedEntry = ChangeEntry | GapEntry;

export interface StatusFeed {
  /** Tells this process's event ids from another's (or an earlier run's): ids are `<instance>-<seq>` */
  readonly instance: string;
  /** The sequence number of the latest entry */
  readonly seq: number;
  /** Adds a change; false when the same message was already added (the relay publishes at least once) */
  publish(messageId: string, change: StatusChange): boolean;
  gap(): void;
  /** The changes after `lastEventId`; undefined when some may be missing (another instance, too old, a gap) */
  replay(lastEventId: string): ChangeEntry[] | undefined;
  subscribe(listener: (entry: FeedEntry) => void): () => void;
}

export function eventId(instance: string, seq: number): string {
  return `${instance}-${seq}`;
}

/** The last `capacity` changes and gaps, numbered, and whoever listens to the next ones. */
export function createStatusFeed(capacity = 1000): StatusFeed {
  const instance = randomBytes(4).toString('hex');
  const entries: FeedEntry[] = [];
  const messageIds = new Set<string>();
  const listeners = new Set<(entry: FeedEntry) => void>();
  let seq = 0;

  const append = (entry: FeedEntry) => {
    entries.push(entry);
    if (entries.length > capacity) {
      const dropped = entries.shift()!;
      if ('messageId' in dropped) messageIds.delete(dropped.messageId);
    }
    for (const listener of listeners) listener(entry);
  };

  return {
    instance,
    get seq() {
      return seq;
    },
    publish(messageId, change) {
      if (messageIds.has(messageId)) return false;
      messageIds.add(messageId);
      append({ seq: ++seq, messageId, change });
      return true;
    },
    gap() {
      append({ seq: ++seq, gap: true });
    },
    replay(lastEventId) {
      const match = /^([0-9a-f]{8})-(0|[1-9]\d{0,15})$/.exec(lastEventId);
      if (!match || match[1] !== instance) return undefined;
      const after = Number(match[2]);
      const oldest = entries[0]?.seq ?? seq + 1;
      if (after > seq || after < oldest - 1) return undefined;
      const missed = entries.filter((entry) => entry.seq > after);
      return missed.every((entry): entry is ChangeEntry => 'messageId' in entry) ? missed : undefined;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
  };
}

