// One action of a form: one at a time, its pending state, its errors placed by field, and when it got
// no answer, a retry. A request keeps its Idempotency-Key until it is answered, so sending it again
// (Retry, or the same form submitted again) can never do it twice; an answered request's next
// submission is a new action.
import { useRef, useState } from 'preact/hooks';
import { ApiProblem, isUnavailable, newIdempotencyKey } from './api.js';

/** A message per field (by the API's name for it), and `form` for the rest */
export type Errors = Record<string, string | undefined>;

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

export function useAction(labels: Record<string, string>) {
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
