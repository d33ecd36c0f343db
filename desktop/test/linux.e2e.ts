// dist/desktop/shop against a running shop: the page it serves, driven in Chromium, places an order
// that gets paid; a wrong gateway gets a plain "cannot reach" and a way to change it; it stops cleanly.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, freePort, linuxExe, placePaidOrder, readStream, startApp, startSystem, waitFor, type RunningApp, type RunningSystem } from './support.js';

const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const output = 'test-output';
// The size of the app window the app asks for.
const windowSize = { width: 1180, height: 860 };

let system: RunningSystem;
let browser: Browser;
let home: string;
const apps: RunningApp[] = [];

/** The Linux app with a home of its own (its settings file under XDG_CONFIG_HOME there). */
async function startShopApp(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const app = await startApp(linuxExe, ['--headless', ...args], { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, name), ...env }, join(home, `${name}.log`));
  apps.push(app);
  return app;
}

async function openPage(url: string): Promise<{ page: Page; errors: string[] }> {
  const page = await (await browser.newContext({ viewport: windowSize })).newPage();
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  return { page, errors };
}

beforeAll(async () => {
  mkdirSync(output, { recursive: true });
  home = mkdtempSync(join(tmpdir(), 'shop-linux-app-'));
  system = await startSystem('desktop_linux');
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
});

afterAll(async () => {
  await browser?.close();
  for (const app of apps) app.child.kill('SIGKILL');
  await system?.stop();
  rmSync(home, { recursive: true, force: true });
});

describe('shop --headless against a running shop', () => {
  let app: RunningApp & { url: string };

  beforeAll(async () => {
    app = await startShopApp('paid', ['--gateway', system.gateway]);
  });

  it('prints its address and the gateway it talks to, and serves the page with the desktop bar', async () => {
    expect(app.output()).toContain(`It talks to the gateway at ${system.gateway} (from --gateway)`);
    const html = await (await fetch(app.url)).text();
    expect(html).toContain('<script type="module" src="/web/app.js"></script>');
    expect(html).toContain('<script src="/desktop/desktop.js" defer></script>');
    const status = await (await fetch(`${app.url}desktop/status`)).json();
    expect(status).toMatchObject({ app: 'Shop', platform: 'linux', gateway: system.gateway, reachable: true });
  });

  it('places an order through the page that gets paid, live through its stream', async () => {
    const { page, errors } = await openPage(app.url);
    await expect.poll(() => page.getByTestId('desktop-gateway').textContent()).toBe(system.gateway);
    await page.getByLabel('User id').fill('1');
    await page.getByLabel('User id').press('Enter');
    await page.getByRole('button', { name: 'Create wallet' }).click();
    await page.getByLabel('Deposit amount').fill('20');
    await page.getByRole('button', { name: 'Deposit' }).click();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('20.00');
    await waitFor('the stream to be live', async () => (await page.locator('.live').textContent())?.trim() === 'Live');
    await page.getByLabel('Description').fill('A pair of socks');
    await page.getByLabel('Amount', { exact: true }).fill('12.50');
    await page.getByRole('button', { name: 'Place order' }).click();
    const order = page.locator('li.order', { hasText: 'A pair of socks' });
    await waitFor('the order to be paid', async () => (await order.getAttribute('data-status')) === 'FINISHED');
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('7.50');
    expect(errors).toEqual([]);
    expect(await page.getByRole('form', { name: 'Change the gateway' }).isVisible()).toBe(false);
    await page.screenshot({ path: join(output, 'desktop-window.png') });
    await page.getByRole('button', { name: 'Change' }).click();
    expect(await page.getByLabel('Gateway address').inputValue()).toBe(system.gateway);
  });

  it('forwards the status stream unbuffered: the event of an order placed through it arrives while the stream is open', async () => {
    const through = api(app.url.slice(0, -1));
    let orderId = '';
    const text = await readStream(`${app.url}api/purchases/stream?user_id=2`, (seen) => orderId !== '' && seen.includes(`"id":"${orderId}"`) && seen.includes('FINISHED'), async () => {
      orderId = (await placePaidOrder(through, 2)).id;
    });
    expect(text).toContain('event: status');
  });

  it('ends on SIGTERM at once, with its event streams open, and says so', async () => {
    const stream = await fetch(`${app.url}api/purchases/stream?user_id=1`);
    expect(stream.status).toBe(200);
    const started = Date.now();
    app.child.kill('SIGTERM');
    expect(await app.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(app.output()).toContain('Shop stopped (SIGTERM).');
  });
});

describe('shop --headless with a wrong gateway', () => {
  let app: RunningApp & { url: string };
  let wrong: string;

  beforeAll(async () => {
    wrong = `http://127.0.0.1:${await freePort()}`;
    app = await startShopApp('wrong', [], { SHOP_GATEWAY: wrong });
  });

  it('answers the API with a plain "cannot reach" problem, and keeps running', async () => {
    const response = await fetch(`${app.url}api/wallet/1`);
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect((await response.json()).detail).toBe(
      `Shop cannot reach the gateway at ${wrong}: nothing answers there (connection refused). Check that the shop is running there, or change the address.`,
    );
    const status = await (await fetch(`${app.url}desktop/status`)).json();
    expect(status).toMatchObject({ gateway: wrong, source: 'environment', reachable: false });
    expect(app.child.exitCode).toBeNull();
  });

  it('says so on the page and lets the person change the address, which it saves', async () => {
    const { page, errors } = await openPage(app.url);
    const alert = page.getByRole('alert').filter({ hasText: 'No connection to the shop' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain(`Shop cannot reach the gateway at ${wrong}: nothing answers there (connection refused).`);
    await page.screenshot({ path: join(output, 'desktop-unreachable.png') });

    await page.getByLabel('Gateway address').fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await page.getByText('"ftp://nowhere" must start with http:// or https://').waitFor();

    await page.getByLabel('Gateway address').fill(system.gateway.replace('http://', ''));
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await waitFor('the bar to show the new gateway', async () => (await page.getByTestId('desktop-gateway').textContent()) === system.gateway && (await alert.count()) === 0);
    expect(await page.locator('.desktop-source').textContent()).toBe('(saved in your settings)');
    const settings = JSON.parse(readFileSync(join(home, 'wrong', 'shop', 'settings.json'), 'utf8'));
    expect(settings.gateway).toBe(system.gateway);

    await page.getByLabel('User id').fill('1');
    await page.getByLabel('User id').press('Enter');
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('7.50');
    expect(errors).toEqual([]);
  });
});
