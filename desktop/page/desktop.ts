// The desktop app's part of the page: a bar above the shop that says which gateway the app talks
// to, and when that gateway cannot be reached says so plainly and lets the person change the
// address (saved by the app in its settings file). Plain DOM, loaded after the shop's own script;
// the shop's page itself is not changed.
interface DesktopStatus {
  version: string;
  platform: string;
  gateway: string;
  source: 'flag' | 'environment' | 'settings' | 'default';
  settings_file: string;
  reachable: boolean;
  detail: string;
}

const sources: Record<DesktopStatus['source'], string> = {
  flag: 'set by --gateway when Shop started',
  environment: 'set by SHOP_GATEWAY when Shop started',
  settings: 'saved in your settings',
  default: 'the default',
};

/** How often the bar asks again: soon while the gateway is away, rarely while all is well. */
const recheckMs = { unreachable: 5_000, reachable: 20_000 };

/** An element with these properties (`attrs`: attributes) and children. */
function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> & { attrs?: Record<string, string> } = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const { attrs = {}, ...rest } = props;
  const node = Object.assign(document.createElement(tag), rest);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

const address = el('strong', { className: 'desktop-address', attrs: { 'data-testid': 'desktop-gateway' } });
const source = el('span', { className: 'desktop-source' });
const change = el('button', { type: 'button', className: 'desktop-link', textContent: 'Change', attrs: { 'aria-expanded': 'false', 'aria-controls': 'desktop-form' } });
const line = el('p', { className: 'desktop-line' }, 'Gateway: ', address, ' ', source, ' ', change);

const alertTitle = el('p', { className: 'desktop-title' });
const alertDetail = el('p', { attrs: { 'data-testid': 'desktop-detail' } });
const alertBox = el('div', { className: 'desktop-alert', hidden: true, attrs: { role: 'alert' } }, alertTitle, alertDetail);

const input = el('input', {
  id: 'desktop-gateway',
  name: 'gateway',
  type: 'text',
  inputMode: 'url',
  spellcheck: false,
  attrs: { autocomplete: 'url', 'aria-describedby': 'desktop-hint desktop-error' },
});
const save = el('button', { type: 'submit', className: 'desktop-button', textContent: 'Save and connect' });
const hint = el('p', { id: 'desktop-hint', className: 'desktop-hint' });
const error = el('p', { id: 'desktop-error', className: 'desktop-error', attrs: { role: 'alert' } });
const form = el(
  'form',
  { id: 'desktop-form', className: 'desktop-form', noValidate: true, hidden: true, attrs: { 'aria-label': 'Change the gateway' } },
  el('label', { htmlFor: 'desktop-gateway', textContent: 'Gateway address' }),
  el('div', { className: 'desktop-row' }, input, save),
  hint,
  error,
);
const bar = el('aside', { className: 'desktop-bar', attrs: { 'aria-label': 'Shop desktop app' } }, el('div', { className: 'desktop-inner' }, line, alertBox, form));

let shown: DesktopStatus | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;

function show(status: DesktopStatus): void {
  const cameBack = shown !== undefined && !shown.reachable && status.reachable;
  shown = status;
  address.textContent = status.gateway;
  source.textContent = `(${sources[status.source]})`;
  alertTitle.textContent = 'No connection to the shop';
  alertDetail.textContent = status.detail;
  alertBox.hidden = status.reachable;
  bar.classList.toggle('desktop-down', !status.reachable);
  hint.textContent = `Shop keeps the address in ${status.settings_file}.`;
  if (document.activeElement !== input) input.value = status.gateway;
  if (!status.reachable) openForm(true);
  // The shop's page gave up while the gateway was away: start it afresh, unless the person is typing.
  if (cameBack && document.activeElement !== input) location.reload();
}

function openForm(open: boolean): void {
  form.hidden = !open;
  change.setAttribute('aria-expanded', String(open));
}

function showStopped(): void {
  shown = undefined;
  alertTitle.textContent = 'The Shop app has stopped';
  alertDetail.textContent = 'Start Shop again to go on shopping; this window can be closed.';
  alertBox.hidden = false;
  bar.classList.add('desktop-down');
}

async function check(): Promise<void> {
  clearTimeout(timer);
  try {
    const response = await fetch('/desktop/status', { cache: 'no-store' });
    show((await response.json()) as DesktopStatus);
  } catch {
    showStopped();
  }
  timer = setTimeout(() => void check(), shown?.reachable ? recheckMs.reachable : recheckMs.unreachable);
}

async function submit(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  error.textContent = '';
  save.disabled = true;
  save.textContent = 'Connecting…';
  try {
    const response = await fetch('/desktop/settings', {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ gateway: input.value }),
    });
    const body = (await response.json()) as DesktopStatus & { detail: string };
    if (!response.ok) {
      error.textContent = body.detail;
      input.setAttribute('aria-invalid', 'true');
      return;
    }
    input.removeAttribute('aria-invalid');
    input.blur();
    if (body.reachable) return location.reload();
    show(body);
    error.textContent = 'Saved, but Shop cannot reach that address either.';
  } catch {
    showStopped();
  } finally {
    save.disabled = false;
    save.textContent = 'Save and connect';
  }
}

change.addEventListener('click', () => openForm(form.hidden));
form.addEventListener('submit', (event) => void submit(event));
document.body.prepend(bar);
void check();
