// The small parts every card is made of: a labelled field with its error, a submit button that shows
// its action pending, a form's own error with a retry, and the card itself.
import type { ComponentChildren } from 'preact';

export function Field(props: {
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
export function Submit({ pending, label, pendingLabel, kind = 'primary' }: { pending: boolean; label: string; pendingLabel: string; kind?: string }) {
  return (
    <button type="submit" class={`button ${kind}`} aria-disabled={pending ? 'true' : undefined} aria-busy={pending ? 'true' : undefined}>
      {pending && <span class="spinner" aria-hidden="true" />}
      {pending ? pendingLabel : label}
    </button>
  );
}

export function FormError({ message, retry }: { message?: string; retry?: () => void }) {
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

export function Card({ id, title, children, class: extra = '' }: { id: string; title: string; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${extra}`} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

export const amountHint = 'Enter an amount such as 12.50';
