// The new-order card: what is bought and for how much; the order is paid from the wallet afterwards.
import { useState } from 'preact/hooks';
import { api, type Purchase } from '../api.js';
import { parseAmount } from '../format.js';
import { useAction, type Errors } from '../useAction.js';
import { amountHint, Card, Field, FormError, Submit } from '../ui.js';

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

export function NewOrderCard({ userId, onPlaced }: { userId: number; onPlaced(order: Purchase): void }) {
  return (
    <Card id="order-title" title="New order" class="new-order">
      <OrderForm key={userId} userId={userId} onPlaced={onPlaced} />
    </Card>
  );
}
