// The shop's state as the page shows it, loaded and followed: the chosen user (remembered across
// visits), the wallet, the orders with every known outcome, the live stream's mode, and whether the
// shop can be reached. Answers can arrive out of order; each change below keeps the newest one.
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, api, isUnavailable, type Purchase, type StatusChange, type Wallet } from './api.js';
import { followStatuses, type LiveMode } from './live.js';
import { mergeOrders, waitingLongerThan } from './orders.js';

export type WalletState = { kind: 'loading' } | { kind: 'none' } | { kind: 'ready'; wallet: Wallet } | { kind: 'failed' };

const storageKey = 'shop.user';
/** A NEW order older than this, while nothing said it changed, makes the page read the list again */
const safetyNetMs = 15_000;

function storedUser(): number | undefined {
  try {
    const text = localStorage.getItem(storageKey) ?? '';
    return /^[1-9]\d{0,15}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
  } catch {
    return undefined; // storage disabled: the person picks again
  }
}

function remember(userId: number): void {
  try {
    localStorage.setItem(storageKey, String(userId));
  } catch {
    // Not remembered across visits; nothing else depends on it.
  }
}

function unreachableMessage(error: unknown): string {
  return error instanceof ApiProblem ? `The shop could not answer: ${error.message}` : 'The shop cannot be reached. Check your connection.';
}

const walletState = (wallet: Wallet | undefined): WalletState => (wallet ? { kind: 'ready', wallet } : { kind: 'none' });

export function useShop() {
  const [userId, setUserId] = useState<number | undefined>(storedUser);
  const [wallet, setWallet] = useState<WalletState>({ kind: 'loading' });
  const [orders, setOrders] = useState<Purchase[] | undefined>(undefined);
  const [mode, setMode] = useState<LiveMode>('connecting');
  const [unreachable, setUnreachable] = useState<string | undefined>(undefined);
  const [announcement, setAnnouncement] = useState('');
  const outcomes = useRef(new Map<string, StatusChange>());
  const shown = useRef<Purchase[]>([]);
  shown.current = orders ?? [];
  const refresh = useRef<() => Promise<void>>(async () => undefined);
  // A wallet read before a deposit must not overwrite the deposit's answer: the later request wins.
  const walletTickets = useRef({ issued: 0, shown: 0 });
  const walletSetter = () => {
    const ticket = ++walletTickets.current.issued;
    return (next: WalletState) => {
      if (ticket < walletTickets.current.shown) return;
      walletTickets.current.shown = ticket;
      setWallet(next);
    };
  };

  useEffect(() => {
    if (userId === undefined) return;
    let active = true;
    outcomes.current = new Map();
    setOrders(undefined);
    setWallet({ kind: 'loading' });

    const loadWallet = async () => {
      const show = walletSetter();
      const found = await api.findWallet(String(userId));
      if (active) show(walletState(found));
    };
    const loadOrders = async () => {
      const list = await api.listOrders(userId);
      if (active) setOrders((current) => mergeOrders(current ?? [], list, outcomes.current));
    };
    const load = async (...parts: (() => Promise<void>)[]) => {
      try {
        await Promise.all(parts.map((part) => part()));
        if (active) setUnreachable(undefined);
      } catch (error) {
        if (!active) return;
        setUnreachable(unreachableMessage(error));
        setWallet((current) => (current.kind === 'loading' ? { kind: 'failed' } : current));
        setOrders((current) => current ?? []);
        if (!isUnavailable(error)) console.error(error);
      }
    };
    refresh.current = () => load(loadWallet, loadOrders);

    const change = (update: StatusChange) => {
      if (update.user_id !== userId) return;
      outcomes.current.set(update.id, update);
      const order = shown.current.find((o) => o.id === update.id);
      // Not listed yet: placed elsewhere, or its creation has not been answered yet.
      if (!order) return void refresh.current();
      if (order.status !== 'NEW') return;
      setOrders((current) => mergeOrders(current ?? [], [], outcomes.current));
      setAnnouncement(`${order.description}: ${update.status === 'FINISHED' ? 'paid' : 'cancelled'}`);
      if (update.status === 'FINISHED') void load(loadWallet);
    };

    const stop = followStatuses(userId, { change, resync: () => void refresh.current(), mode: setMode });
    void refresh.current();
    // A safety net under the stream: a NEW order that stays NEW too long is read again.
    const safetyNet = setInterval(() => {
      if (waitingLongerThan(shown.current, safetyNetMs)) void refresh.current();
    }, safetyNetMs);
    const online = () => void refresh.current();
    addEventListener('online', online);
    return () => {
      active = false;
      stop();
      clearInterval(safetyNet);
      removeEventListener('online', online);
    };
  }, [userId]);

  return {
    userId,
    wallet,
    orders,
    mode,
    unreachable,
    announcement,
    refresh: () => void refresh.current(),
    /** Opens the user (the wallet is the one just read for them, if any) */
    choose(id: number, found: Wallet | undefined) {
      remember(id);
      if (id === userId) walletSetter()(walletState(found));
      else setUserId(id);
    },
    showWallet: (next: Wallet) => walletSetter()(walletState(next)),
    placed(order: Purchase) {
      setOrders((current) => mergeOrders(current ?? [], [order], outcomes.current));
      setAnnouncement(`Order placed: ${order.description}`);
    },
  };
}
