// The account card: choose the user, see the wallet (or create it), and deposit.
import { useState } from 'preact/hooks';
import { api, type Wallet } from '../api.js';
import { formatMoney, parseAmount } from '../format.js';
import type { WalletState } from '../useShop.js';
import { useAction } from '../useAction.js';
import { amountHint, Card, Field, FormError, Submit } from '../ui.js';

function UserForm({ userId, onChoose }: { userId: number | undefined; onChoose(userId: number, wallet: Wallet | undefined): void }) {
  const [text, setText] = useState(userId === undefined ? '' : String(userId));
  const { pending, errors, setErrors, retry, run, input } = useAction({ user_id: 'User id' });
  const submit = (event: Event) => {
    event.preventDefault();
    const typed = text.trim();
    if (!typed) return setErrors({ user_id: 'Enter your user id, a whole number such as 42' });
    run(async () => onChoose(Number(typed), await api.findWallet(typed)));
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

export function AccountCard(props: {
  userId: number | undefined;
  wallet: WalletState;
  onChoose(userId: number, wallet: Wallet | undefined): void;
  onWallet(wallet: Wallet): void;
}) {
  return (
    <Card id="account-title" title="Account" class="account">
      <UserForm userId={props.userId} onChoose={props.onChoose} />
      {props.userId === undefined ? (
        <p class="muted">Enter your user id to see your wallet and your orders.</p>
      ) : (
        <WalletView key={props.userId} userId={props.userId} state={props.wallet} onWallet={props.onWallet} />
      )}
    </Card>
  );
}
