// The shop front in a real browser: Debian's Chromium, driven by playwright-core, against the three
// services started from their bundles, with databases and a broker namespace of this file's own.
// Screenshots at desktop and phone width go to test-output/ (git-ignored).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type CDPSession, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deleteNamespace } from './support/broker.js';
import { amqpUrl, databaseUrl, dropDatabase, uniqueName } from './support/db.js';
import { freePort, startBundle, type ServiceProcess } from './support/processes.js';
import { waitFor } from './support/system.js';

const chromiumPath = '/usr/bin/chromium';
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const output = 'test-output';
const desktop: BrowserContextOptions = { viewport: { width: 1280, height: 800 } };
const phone: BrowserContextOptions = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true };

const namespace = uniqueName('web');
const ports: Record<'payments' | 'orders' | 'gateway', number> = { payments: 0, orders: 0, gateway: 0 };
const services: Partial<Record<keyof typeof ports, ServiceProcess>> = {};
let gateway: string;
let browser: Browser;
const contexts: BrowserContext[] = [];

function start(service: keyof typeof ports): ServiceProcess {
  const env: Record<string, string> = {
    AMQP_URL: amqpUrl,
    AMQP_NAMESPACE: namespace,
    LOG_LEVEL: 'warn',
    PORT: String(ports[service]),
    // The default, said out loud: a stream left open would hold a stopping gateway this long.
    SHUTDOWN_TIMEOUT_MS: '10000',
  };
  if (service === 'gateway') Object.assign(env, { PAYMENTS_URL: `http://127.0.0.1:${ports.payments}`, ORDERS_URL: `http://127.0.0.1:${ports.orders}` });
  else env.DATABASE_URL = databaseUrl(`${namespace}_${service}`);
  services[service] = startBundle(['dist/runner.mjs', service], env);
  return services[service];
}

async function stop(service: keyof typeof ports): Promise<{ code: number | string; ms: number }> {
  const started = Date.now();
  const code = await services[service]!.stop('SIGTERM');
  return { code, ms: Date.now() - started };
}

async function newContext(options: BrowserContextOptions): Promise<BrowserContext> {
  const context = await browser.newContext(options);
  contexts.push(context);
  return context;
}

/** A page of the shop with what its event streams received, read through the DevTools protocol. */
async function openShop(context: BrowserContext) {
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  const cdp: CDPSession = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  const streamed: { eventName: string; eventId: string; data: string }[] = [];
  cdp.on('Network.eventSourceMessageReceived', (event) => streamed.push(event));
  let navigations = 0;
  page.on('framenavigated', (frame) => frame === page.mainFrame() && navigations++);
  await page.goto(`${gateway}/`);
  return { page, cdp, streamed, errors, navigations: () => navigations };
}

async function chooseUser(page: Page, userId: number): Promise<void> {
  await page.getByLabel('User id').fill(String(userId));
  await page.getByLabel('User id').press('Enter');
  await waitFor(`user ${userId}'s wallet`, async () => (await page.getByTestId('balance').count()) > 0 || (await page.getByText(`User ${userId} has no wallet yet.`).count()) > 0);
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).textContent())?.trim() ?? '';
}

const balanceIs = (page: Page, value: string) => waitFor(`the balance to show ${value}`, async () => (await text(page, '[data-testid=balance]')) === value);
const liveStatus = (page: Page) => text(page, '.live');
const isLive = (page: Page) => waitFor('the stream to be live', async () => (await liveStatus(page)) === 'Live');

function order(page: Page, description: string) {
  return page.locator('li.order', { hasText: description });
}

async function placeOrder(page: Page, description: string, amount: string): Promise<string> {
  await page.getByLabel('Description').fill(description);
  await page.getByLabel('Amount', { exact: true }).fill(amount);
  await page.getByRole('button', { name: 'Place order' }).click();
  await order(page, description).waitFor();
  return (await order(page, description).getAttribute('data-id'))!;
}

async function statusOf(page: Page, description: string): Promise<string | null> {
  return order(page, description).getAttribute('data-status');
}

const statusIs = (page: Page, description: string, status: string, timeoutMs?: number) =>
  waitFor(`"${description}" to be ${status}`, async () => (await statusOf(page, description)) === status, timeoutMs);

async function apiPost(path: string, body: unknown): Promise<{ status: number; json: any }> { // eslint-disable-line -- each test reads its fields
  const response = await fetch(gateway + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, json: await response.json() };
}

/** Starts whatever service is not running (a test that stopped one may have failed half-way). */
async function startMissing(): Promise<void> {
  for (const service of Object.keys(ports) as (keyof typeof ports)[]) {
    const child = services[service]?.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) start(service);
  }
  await waitFor('the system to answer', async () => {
    const [wallets, purchases] = await Promise.all([fetch(`${gateway}/api/wallet/1`), fetch(`${gateway}/api/purchases`)]);
    return [200, 404].includes(wallets.status) && purchases.status === 200;
  });
}

beforeAll(async () => {
  mkdirSync(output, { recursive: true });
  for (const service of Object.keys(ports) as (keyof typeof ports)[]) ports[service] = await freePort();
  gateway = `http://127.0.0.1:${ports.gateway}`;
  await startMissing();
  browser = await chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
});

afterEach(startMissing);

afterAll(async () => {
  await Promise.all(contexts.map((c) => c.close().catch(() => undefined)));
  await browser?.close();
  await Promise.all(Object.values(services).map((s) => s.stop()));
  await Promise.all([dropDatabase(`${namespace}_payments`), dropDatabase(`${namespace}_orders`), deleteNamespace(namespace)]);
});

describe('the shop front on a desktop', () => {
  let shop: Awaited<ReturnType<typeof openShop>>;

  beforeAll(async () => {
    shop = await openShop(await newContext(desktop));
  });

  it('creates a wallet, takes a deposit, and shows a paid order turn FINISHED without a reload', async () => {
    const { page } = shop;
    await chooseUser(page, 1);
    await page.getByRole('button', { name: 'Create wallet' }).click();
    await balanceIs(page, '0.00');
    await page.getByLabel('Deposit amount').fill('10');
    await page.getByRole('button', { name: 'Deposit' }).click();
    await balanceIs(page, '10.00');
    await isLive(page);

    const id = await placeOrder(page, 'A pair of socks', '2.5');
    await statusIs(page, 'A pair of socks', 'FINISHED');
    await balanceIs(page, '7.50');
    expect(await order(page, 'A pair of socks').locator('.order-amount').textContent()).toBe('2.50');
    // It came through the event stream, and the page never reloaded.
    const event = shop.streamed.find((e) => e.eventName === 'status' && e.data.includes(id));
    expect(JSON.parse(event!.data)).toMatchObject({ id, user_id: 1, amount: 2.5, status: 'FINISHED', reason: null });
    expect(shop.navigations()).toBe(1);
  });

  it('shows an order over the balance turn CANCELLED with its reason, and the balance unchanged', async () => {
    const { page } = shop;
    await placeOrder(page, 'A boat', '100');
    await statusIs(page, 'A boat', 'CANCELLED');
    expect(await order(page, 'A boat').locator('.order-reason').textContent()).toBe('Not enough money in the wallet');
    await balanceIs(page, '7.50');
    // Newest first.
    expect(await page.locator('li.order .order-description').allTextContents()).toEqual(['A boat', 'A pair of socks']);
  });

  it('shows the API\'s message for a rejected deposit next to the amount, and changes nothing', async () => {
    const { page } = shop;
    const rejected = await apiPost('/api/wallet/1/deposit', { amount: 0.001 });
    expect(rejected.status).toBe(400);
    const apiMessage: string = rejected.json.errors[0].detail;

    await page.getByLabel('Deposit amount').fill('0.001');
    await page.getByRole('button', { name: 'Deposit' }).click();
    const field = page.getByLabel('Deposit amount');
    await waitFor('the field to be marked invalid', async () => (await field.getAttribute('aria-invalid')) === 'true');
    const describedBy = (await field.getAttribute('aria-describedby'))!;
    expect(await text(page, `#${describedBy}`)).toBe(`Amount ${apiMessage}`);
    await balanceIs(page, '7.50');
    await page.screenshot({ path: join(output, 'web-desktop.png'), fullPage: true });
    expect(shop.errors).toEqual([]);
  });

  it('follows the stream again after the gateway restarts, and shows what changed while it was away', async () => {
    const { page, streamed } = shop;
    await page.getByLabel('Deposit amount').fill('');
    expect((await stop('payments')).code).toBe(0);
    await placeOrder(page, 'Coffee beans', '3');
    expect(await statusOf(page, 'Coffee beans')).toBe('NEW');
    const eventsBefore = streamed.length;

    // The open stream ends at once and cleanly, instead of holding the shutdown for its 10 s.
    const stopped = await stop('gateway');
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(5_000);
    await waitFor('the page to notice', async () => (await liveStatus(page)) !== 'Live');
    await waitFor('the page to say the shop is out of reach', async () => (await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).count()) > 0);
    expect(await page.getByRole('button', { name: 'Retry' }).count()).toBeGreaterThan(0);
    await page.screenshot({ path: join(output, 'web-desktop-unreachable.png') });

    // Paid while no gateway listened: its status change is gone from the broker for good.
    start('payments');
    const id = (await order(page, 'Coffee beans').getAttribute('data-id'))!;
    await waitFor('the order to be paid', async () => {
      const response = await fetch(`http://127.0.0.1:${ports.orders}/api/purchase/${id}`);
      return ((await response.json()) as { status: string }).status === 'FINISHED';
    });
    expect(await statusOf(page, 'Coffee beans')).toBe('NEW');

    start('gateway');
    await isLive(page);
    await statusIs(page, 'Coffee beans', 'FINISHED');
    await balanceIs(page, '4.50');
    await waitFor('the alert to go', async () => (await page.getByRole('alert').filter({ hasText: 'cannot be reached' }).count()) === 0);
    // A new stream from the new gateway (its `ready` says it could not replay), and no reload.
    const ready = streamed.slice(eventsBefore).filter((e) => e.eventName === 'ready');
    expect(ready.map((e) => JSON.parse(e.data))).toContainEqual({ resumed: false });
    expect(shop.navigations()).toBe(1);
    expect(shop.errors).toEqual([]);
  }, 60_000);
});

describe('the shop front when things fail', () => {
  it('falls back to polling when the stream is unavailable, and still shows the order paid', async () => {
    const context = await newContext({ ...desktop, serviceWorkers: 'block' });
    // As on a host without the stream (serverless-offline, API Gateway): the route is not there.
    await context.route('**/api/purchases/stream*', (route) =>
      route.fulfill({ status: 404, contentType: 'application/problem+json', body: JSON.stringify({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No route' }) }),
    );
    const { page, streamed, navigations } = await openShop(context);
    await chooseUser(page, 1);
    await waitFor('the page to poll', async () => (await liveStatus(page)) === 'Checking every few seconds');
    await placeOrder(page, 'A cup of tea', '1.25');
    await statusIs(page, 'A cup of tea', 'FINISHED');
    await balanceIs(page, '3.25');
    expect(streamed).toEqual([]);
    expect(navigations()).toBe(1);
  });

  it('says when a deposit got no answer, and its retry does not deposit twice', async () => {
    expect((await apiPost('/api/wallet/create', { user_id: 4 })).status).toBe(201);
    const context = await newContext({ ...desktop, serviceWorkers: 'block' });
    const { page } = await openShop(context);
    await chooseUser(page, 4);
    await balanceIs(page, '0.00');
    const keys: string[] = [];
    page.on('request', (request) => request.url().endsWith('/deposit') && keys.push(request.headers()['idempotency-key'] ?? ''));
    // The deposit reaches the shop and is made, but its answer is lost on the way back.
    await page.route('**/api/wallet/4/deposit', async (route) => {
      await route.fetch();
      await route.abort('internetdisconnected');
    }, { times: 1 });

    await page.getByLabel('Deposit amount').fill('5');
    await page.getByRole('button', { name: 'Deposit' }).click();
    const alert = page.getByRole('alert').filter({ hasText: 'The shop cannot be reached' });
    await alert.waitFor();
    await alert.getByRole('button', { name: 'Retry' }).click();
    await balanceIs(page, '5.00');
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    const wallet = (await (await fetch(`${gateway}/api/wallet/4`)).json()) as { balance: number };
    expect(wallet.balance).toBe(5);
  });
});

describe('the shop front on a phone', () => {
  it('fits 375 px and works with the keyboard alone, with labels and a visible focus', async () => {
    const { page } = await openShop(await newContext(phone));
    /** Presses Tab until `selector` has the focus: it is reachable by keyboard, in a sensible order. */
    const tabTo = async (selector: string) => {
      for (let presses = 0; presses < 12; presses++) {
        if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
        await page.keyboard.press('Tab');
      }
      throw new Error(`${selector} cannot be reached with Tab`);
    };

    await tabTo('#user_id');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await page.keyboard.type('3');
    await page.keyboard.press('Enter');
    await page.getByText('User 3 has no wallet yet.').waitFor();
    await tabTo('form[aria-label="Create a wallet"] button');
    expect(await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle)).toBe('solid');
    await page.keyboard.press('Enter');
    await balanceIs(page, '0.00');
    await tabTo('#deposit_amount');
    await page.keyboard.type('5');
    await page.keyboard.press('Enter');
    await balanceIs(page, '5.00');
    await tabTo('#order_description');
    await page.keyboard.type('Chewing gum');
    await page.keyboard.press('Tab');
    await page.keyboard.type('1');
    await page.keyboard.press('Enter');
    await statusIs(page, 'Chewing gum', 'FINISHED');
    await balanceIs(page, '4.00');

    const unlabelled = await page.$$eval('input', (inputs) => inputs.filter((i) => (i as HTMLInputElement).labels?.length !== 1).map((i) => i.id));
    expect(unlabelled).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    await page.screenshot({ path: join(output, 'web-phone.png'), fullPage: true });
  });
});

describe('the shop front as an app', () => {
  it('has a manifest and a service worker that Chromium accepts for installing, and opens offline', async () => {
    // A profile on disk: Chromium never offers to install from an incognito window.
    const profile = mkdtempSync(join(tmpdir(), 'shop-web-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: chromiumPath, args: chromiumArgs, ...desktop });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      await page.goto(`${gateway}/`);
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      const cdp = await context.newCDPSession(page);
      const manifest = await cdp.send('Page.getAppManifest');
      expect(manifest.errors).toEqual([]);
      expect(manifest.url).toBe(`${gateway}/web/manifest.webmanifest`);
      expect((await cdp.send('Page.getInstallabilityErrors')).installabilityErrors).toEqual([]);

      await page.reload(); // now under the worker's control
      await context.setOffline(true);
      await page.reload();
      await page.getByRole('heading', { name: 'Shop' }).waitFor();
      await page.getByLabel('User id').fill('1');
      await page.getByLabel('User id').press('Enter');
      await page.getByRole('alert').filter({ hasText: 'The shop cannot be reached' }).waitFor();
      await context.setOffline(false);
    } finally {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
