// The shop front: pick a user, keep a wallet, place orders and watch each one get paid or cancelled.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiProblem, api, isUnavailable, newIdempotencyKey, type Purchase, type StatusChange, type Wallet } from './api.js';
import { formatMoney, formatTime, parseAmount, reasonText } from './format.js';
import { followStatuses, type LiveMode } from './live.js';
import { mergeOrders, waitingLongerThan } from './orders.js';

type WalletState = { kind: 'loading' } | { kind: 'none' } | { kind: 'ready'; wallet: Wallet } | { kind: 'failed' };
/** A message per field (by the API's name for it), and `form` for the rest */
type Errors = Record<string, string | undefined>;

const storageKey = 'shop.user';
/** A NEW order older than this, while nothing said it changed, makes the page read the list again */
const safetyNetMs = 15_000;
const amountHint = 'Enter an amount such as 12.50';

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

/** Each field error of an API problem next to its field (labels by API name), the rest for the form. */
function errorsOf(error: unknown, labels: Record<string, string>): Errors {
  if (!(error instanceof ApiProblem)) return { form: 'The shop cannot be reached. Check your connection, then retry.' };
  const errors: Errors = {};
  let unplaced = error.errors.length === 0;
  for (const field of error.errors) {
    const name = field.name.replace(/^\//, '');
    const label = labels[name];
    if (label && !errors[name]) errors[name] = `${label} ${field.detail}`;
    else if (!label) unplaced = true;
  }
  if (unplaced) errors.form = error.message;
  return errors;
}

function Field(props: {
  id: string;
  label: string;
  value: string;
  error?: string;
  inputMode?: 'numeric' | 'decimal' | 'text';
  maxLength?: number;
  onInput(value: string): void;
}) {
  return (
    <div class="field">
      <label for={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.id}
        type="text"
        autocomplete="off"
        inputMode={props.inputMode ?? 'text'}
        maxLength={props.maxLength}
        value={props.value}
        aria-invalid={props.error ? 'true' : undefined}
        aria-describedby={props.error ? `${props.id}-error` : undefined}
        onInput={(event) => props.onInput(event.currentTarget.value)}
      />
      {props.error && (
        <p class="error" id={`${props.id}-error`} role="alert">
          {props.error}
        </p>
      )}
    </div>
  );
}

/** A submit button that says when its action is pending; it stays focusable, and a second press does nothing. */
function Submit({ pending, label, pendingLabel, kind = 'primary' }: { pending: boolean; label: string; pendingLabel: string; kind?: string }) {
  return (
    <button type="submit" class={`button ${kind}`} aria-disabled={pending ? 'true' : undefined} aria-busy={pending ? 'true' : undefined}>
      {pending && <span class="spinner" aria-hidden="true" />}
      {pending ? pendingLabel : label}
    </button>
  );
}

function FormError({ message, retry }: { message?: string; retry?: () => void }) {
  if (!message) return null;
  return (
    <div class="form-error" role="alert">
      <p class="error">{message}</p>
      {retry && (
        <button type="button" class="button secondary" onClick={retry}>
          Retry
        </button>
      )}
    </div>
  );
}

function Card({ id, title, children, class: extra = '' }: { id: string; title: string; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${extra}`} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

/**
 * A form's action: one at a time, its errors placed by field, and when it got no answer, a retry.
 * A request keeps its Idempotency-Key until it is answered, so sending it again (Retry, or the same
 * form submitted again) can never do it twice; an answered request's next submission is a new action.
 */
function useAction(labels: Record<string, string>) {
  const [pending, setPending] = useState(false);
  const [errors, setErrors] = useState<Errors>({});
  const [retry, setRetry] = useState<(() => void) | undefined>(undefined);
  const busy = useRef(false);
  const unanswered = useRef<{ request: string; key: string } | undefined>(undefined);

  const keyFor = (request: unknown): string => {
    const text = JSON.stringify(request);
    if (unanswered.current?.request !== text) unanswered.current = { request: text, key: newIdempotencyKey() };
    return unanswered.current.key;
  };
  const run = (act: () => Promise<void>): void => {
    if (busy.current) return;
    busy.current = true;
    setPending(true);
    setErrors({});
    setRetry(undefined);
    act()
      .then(
        () => {
          unanswered.current = undefined;
        },
        (error: unknown) => {
          setErrors(errorsOf(error, labels));
          if (isUnavailable(error)) setRetry(() => () => run(act));
          else unanswered.current = undefined;
        },
      )
      .finally(() => {
        busy.current = false;
        setPending(false);
      });
  };
  /** A field's input handler: what a person types puts that field's error away, and the form's. */
  const input = (name: string, set: (value: string) => void) => (value: string) => {
    set(value);
    setErrors((current) => (current[name] || current.form ? { ...current, [name]: undefined, form: undefined } : current));
  };
  return { pending, errors, setErrors, retry, run, keyFor, input };
}

function UserForm({ userId, onChoose }: { userId: number | undefined; onChoose(userId: number, wallet: Wallet | undefined): void }) {
  const [text, setText] = useState(userId === undefined ? '' : String(userId));
  const { pending, errors, setErrors, retry, run, input } = useAction({ user_id: 'User id' });
  const submit = (event: Event) => {
    event.preventDefault();
    const typed = text.trim();
    if (!typed) return setErrors({ user_id: 'Enter your user id, a whole number such as 42' });
    run(async () => {
      try {
        onChoose(Number(typed), await api.getWallet(typed));
      } catch (error) {
        if (!(error instanceof ApiProblem && error.status === 404)) throw error;
        onChoose(Number(typed), undefined);
      }
    });
  };
  return (
    <form class="row-form" onSubmit={submit} noValidate aria-label="Choose the user">
      <Field id="user_id" label="User id" inputMode="numeric" value={text} error={errors.user_id} onInput={input('user_id', setText)} />
      <Submit pending={pending} label={userId === undefined ? 'Open' : 'Switch'} pendingLabel="Opening…" kind="secondary" />
      <FormError message={errors.form} retry={retry} />
    </form>
  );
}

function DepositForm({ userId, onWallet }: { userId: number; onWallet(wallet: Wallet): void }) {
  const [text, setText] = useState('');
  const { pending, errors, setErrors, retry, run, keyFor, input } = useAction({ amount: 'Amount' });
  const submit = (event: Event) => {
    event.preventDefault();
    const amount = parseAmount(text);
    if (amount === undefined) return setErrors({ amount: amountHint });
    const key = keyFor({ userId, amount });
    run(async () => {
      onWallet(await api.deposit(key, userId, amount));
      setText('');
    });
  };
  return (
    <form class="row-form" onSubmit={submit} noValidate aria-label="Deposit">
      <Field id="deposit_amount" label="Deposit amount" inputMode="decimal" value={text} error={errors.amount} onInput={input('amount', setText)} />
      <Submit pending={pending} label="Deposit" pendingLabel="Depositing…" />
      <FormError message={errors.form} retry={retry} />
    </form>
  );
}

function WalletView({ userId, state, onWallet }: { userId: number; state: WalletState; onWallet(wallet: Wallet): void }) {
  const { pending, errors, retry, run, keyFor } = useAction({});
  if (state.kind === 'loading') return <p class="muted" aria-busy="true">Loading the wallet…</p>;
  if (state.kind === 'failed') return <p class="muted">The wallet could not be loaded.</p>;
  if (state.kind === 'none') {
    const create = (event: Event) => {
      event.preventDefault();
      const key = keyFor({ userId });
      run(async () => onWallet(await api.createWallet(key, userId)));
    };
    return (
      <form class="stack" onSubmit={create} aria-label="Create a wallet">
        <p>User {userId} has no wallet yet.</p>
        <Submit pending={pending} label="Create wallet" pendingLabel="Creating…" />
        <FormError message={errors.form} retry={retry} />
      </form>
    );
  }
  return (
    <>
      <div class="balance">
        <span class="balance-label" id="balance-label">
          Balance
        </span>
        <output class="balance-value" aria-labelledby="balance-label" data-testid="balance">
          {formatMoney(state.wallet.balance)}
        </output>
      </div>
      <DepositForm userId={userId} onWallet={onWallet} />
    </>
  );
}

function OrderForm({ userId, onPlaced }: { userId: number; onPlaced(order: Purchase): void }) {
  const [amount, setAmount] = useState('');
  const [description, setDescription] = useState('');
  const { pending, errors, setErrors, retry, run, keyFor, input } = useAction({ amount: 'Amount', description: 'Description' });
  const submit = (event: Event) => {
    event.preventDefault();
    const value = parseAmount(amount);
    const what = description.trim();
    const local: Errors = {};
    if (value === undefined) local.amount = amountHint;
    if (!what) local.description = 'Say what you are buying';
    if (value === undefined || !what) return setErrors(local);
    const key = keyFor({ userId, value, what });
    run(async () => {
      onPlaced(await api.placeOrder(key, userId, value, what));
      setAmount('');
      setDescription('');
    });
  };
  return (
    <form class="stack" onSubmit={submit} noValidate aria-label="Place an order">
      <Field id="order_description" label="Description" maxLength={500} value={description} error={errors.description} onInput={input('description', setDescription)} />
      <Field id="order_amount" label="Amount" inputMode="decimal" value={amount} error={errors.amount} onInput={input('amount', setAmount)} />
      <Submit pending={pending} label="Place order" pendingLabel="Placing…" />
      <FormError message={errors.form} retry={retry} />
    </form>
  );
}

function OrderRow({ order }: { order: Purchase }) {
  return (
    <li class="order" data-id={order.id} data-status={order.status}>
      <div class="order-line">
        <span class="order-description">{order.description}</span>
        <span class="order-amount">{formatMoney(order.amount)}</span>
      </div>
      <div class="order-line order-meta">
        <span class={`badge badge-${order.status.toLowerCase()}`}>{order.status}</span>
        <time dateTime={order.created_at}>{formatTime(order.created_at)}</time>
      </div>
      {order.reason && <p class="order-reason">{reasonText[order.reason] ?? order.reason}</p>}
    </li>
  );
}

function LiveBadge({ mode }: { mode: LiveMode }) {
  const text = { live: 'Live', connecting: 'Connecting…', polling: 'Checking every few seconds' }[mode];
  return (
    <p class={`live live-${mode}`} role="status" title="How order statuses reach this page">
      <span class="dot" aria-hidden="true" />
      {text}
    </p>
  );
}

export function App() {
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
  // Answers can arrive out of order: a wallet read before a deposit must not overwrite its result.
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
      try {
        const found = await api.getWallet(String(userId));
        if (active) show({ kind: 'ready', wallet: found });
      } catch (error) {
        if (!(error instanceof ApiProblem && error.status === 404)) throw error;
        if (active) show({ kind: 'none' });
      }
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

  const choose = (id: number, found: Wallet | undefined) => {
    remember(id);
    if (id === userId) {
      walletSetter()(found ? { kind: 'ready', wallet: found } : { kind: 'none' });
      return;
    }
    setUserId(id);
  };
  const showWallet = (next: Wallet) => walletSetter()({ kind: 'ready', wallet: next });
  const placed = (order: Purchase) => {
    setOrders((current) => mergeOrders(current ?? [], [order], outcomes.current));
    setAnnouncement(`Order placed: ${order.description}`);
  };

  return (
    <>
      <header class="top">
        <div class="top-inner">
          <h1 class="brand">
            <svg viewBox="0 0 24 24" aria-hidden="true" class="brand-icon">
              <path d="M6 8h12l-1 12H7L6 8Z" fill="currentColor" />
              <path d="M9 8V6a3 3 0 0 1 6 0v2" fill="none" stroke="currentColor" stroke-width="2" />
            </svg>
            Shop
          </h1>
          {userId !== undefined && <LiveBadge mode={mode} />}
        </div>
      </header>
      {unreachable && (
        <div class="banner" role="alert">
          <p>{unreachable}</p>
          <button type="button" class="button secondary" onClick={() => void refresh.current()}>
            Retry
          </button>
        </div>
      )}
      <main class="layout">
        <Card id="account-title" title="Account" class="account">
          <UserForm userId={userId} onChoose={choose} />
          {userId === undefined ? (
            <p class="muted">Enter your user id to see your wallet and your orders.</p>
          ) : (
            <WalletView key={userId} userId={userId} state={wallet} onWallet={showWallet} />
          )}
        </Card>
        {userId !== undefined && (
          <Card id="order-title" title="New order" class="new-order">
            <OrderForm key={userId} userId={userId} onPlaced={placed} />
          </Card>
        )}
        {userId !== undefined && (
          <Card id="orders-title" title="Your orders" class="orders">
            {orders === undefined ? (
              <p class="muted" aria-busy="true">
                Loading your orders…
              </p>
            ) : orders.length === 0 ? (
              <p class="muted">No orders yet. Place one and watch it get paid.</p>
            ) : (
              <ol class="order-list">
                {orders.map((order) => (
                  <OrderRow key={order.id} order={order} />
                ))}
              </ol>
            )}
          </Card>
        )}
      </main>
      <p class="visually-hidden" role="status" aria-live="polite">
        {announcement}
      </p>
    </>
  );
}
