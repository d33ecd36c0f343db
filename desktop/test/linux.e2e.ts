// dist/desktop/shop against a running shop: the page it serves, driven in Chromium, places an order
// that gets paid; a wrong gateway gets a plain "cannot reach" and a way to change it; it stops cleanly;
// and with a display, it opens a real Chromium app window and quits when that window is closed.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTcpProxy } from '../../test/support/tcpProxy.js';
import { api, freePort, linuxExe, placePaidOrder, readStream, startApp, startSystem, waitFor, type RunningApp, type RunningSystem } from './support.js';

const run = promisify(execFile);
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
const output = 'test-output';
// The size of the app window the app asks for.
const windowSize = { width: 1180, height: 860 };

let system: RunningSystem;
let browser: Browser;
let home: string;
const apps: RunningApp[] = [];

/** The Linux app with a home of its own (its settings file under XDG_CONFIG_HOME there); headless unless it is given a DISPLAY. */
async function startShopApp(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const flags = env.DISPLAY ? args : ['--headless', ...args];
  const app = await startApp(linuxExe, flags, { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, name), ...env }, join(home, `${name}.log`));
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

/** Through the shop's page: a new wallet for `userId` holding `deposit`. */
async function walletWith(page: Page, userId: number, deposit: string): Promise<void> {
  await page.getByLabel('User id').fill(String(userId));
  await page.getByLabel('User id').press('Enter');
  await page.getByRole('button', { name: 'Create wallet' }).click();
  await page.getByLabel('Deposit amount').fill(deposit);
  await page.getByRole('button', { name: 'Deposit' }).click();
  await expect.poll(() => page.getByTestId('balance').textContent()).toBe(Number(deposit).toFixed(2));
}

/** Through the shop's page: an order, once it is paid. */
async function paidOrder(page: Page, description: string, amount: string): Promise<void> {
  await page.getByLabel('Description').fill(description);
  await page.getByLabel('Amount', { exact: true }).fill(amount);
  await page.getByRole('button', { name: 'Place order' }).click();
  await waitFor(`"${description}" to be paid`, async () => (await page.locator('li.order', { hasText: description }).getAttribute('data-status')) === 'FINISHED');
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
    await walletWith(page, 1, '20');
    await waitFor('the stream to be live', async () => (await page.locator('.live').textContent())?.trim() === 'Live');
    await paidOrder(page, 'A pair of socks', '12.50');
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
    // The bar down to the address field: what a person sees first (the settings file's path below it is this run's own).
    const row = (await page.locator('.desktop-row').boundingBox())!;
    await page.screenshot({ path: join(output, 'desktop-unreachable.png'), clip: { x: 0, y: 0, width: windowSize.width, height: row.y + row.height + 2 } });

    await page.getByLabel('Gateway address').fill('ftp://nowhere');
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await page.getByText('"ftp://nowhere" must start with http:// or https://').waitFor();

    await page.getByLabel('Gateway address').fill(system.gateway.replace('http://', ''));
    await page.getByRole('button', { name: 'Save and connect' }).click();
    await waitFor('the bar to show the new gateway', async () => (await page.getByTestId('desktop-gateway').textContent()) === system.gateway && (await alert.count()) === 0);
    expect(await page.locator('.desktop-source').textContent()).toBe('(saved in your settings)');
    const settings = JSON.parse(readFileSync(join(home, 'wrong', 'shop', 'settings.json'), 'utf8'));
    expect(settings.gateway).toBe(system.gateway);

    await page.getByLabel('User id').fill('4');
    await page.getByLabel('User id').press('Enter');
    await page.getByText('User 4 has no wallet yet.').waitFor();
    await page.getByRole('button', { name: 'Create wallet' }).click();
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('0.00');
    expect(errors).toEqual([]);
  });
});

describe('shop --headless while its gateway is away for a while', () => {
  it('says so, then notices by itself when the gateway is back, and starts the shop afresh', async () => {
    const proxy = await startTcpProxy(Number(new URL(system.gateway).port));
    await proxy.cut();
    const away = `http://127.0.0.1:${proxy.port}`;
    const app = await startShopApp('away', ['--gateway', away]);
    const { page, errors } = await openPage(app.url);
    const alert = page.getByRole('alert').filter({ hasText: 'No connection to the shop' });
    await alert.waitFor();
    let reloaded = false;
    page.once('load', () => (reloaded = true));
    await proxy.restore();
    await waitFor('the bar to see the gateway back', async () => (await alert.count()) === 0 && reloaded, 20_000);
    await expect.poll(() => page.getByTestId('desktop-gateway').textContent()).toBe(away);
    await page.getByLabel('User id').fill('5');
    await page.getByLabel('User id').press('Enter');
    await page.getByText('User 5 has no wallet yet.').waitFor();
    expect(errors).toEqual([]);
    await proxy.close();
  });
});

describe('shop with its window: a Chromium app window on a display of its own', () => {
  let xvfb: ChildProcess;
  let display: string;
  let debugPort: number;
  let bin: string;

  beforeAll(async () => {
    // Xvfb picks a free display itself and says which.
    xvfb = spawn('Xvfb', ['-displayfd', '1', '-screen', '0', '1280x900x24', '-nolisten', 'tcp'], { stdio: ['ignore', 'pipe', 'ignore'] });
    display = `:${await new Promise<string>((resolve) => xvfb.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())))}`;
    debugPort = await freePort();
    // The chromium the app finds first on PATH: Debian's, with what a test run as root needs (no
    // sandbox) and a debugging port through which the test sees the window and closes it.
    bin = join(home, 'bin');
    mkdirSync(bin);
    writeFileSync(
      join(bin, 'chromium'),
      `#!/bin/sh\nexec /usr/bin/chromium --no-sandbox ${chromiumArgs.filter((arg) => arg !== '--headless' && arg !== '--no-sandbox').join(' ')} --remote-debugging-port=${debugPort} "$@"\n`,
      { mode: 0o755 },
    );
  });

  afterAll(() => {
    xvfb?.kill();
  });

  const windowEnv = (name: string): NodeJS.ProcessEnv => ({
    DISPLAY: display,
    PATH: `${bin}:${process.env.PATH}`,
    HOME: home,
    XDG_CONFIG_HOME: join(home, name),
    XDG_DATA_HOME: join(home, `${name}-data`),
    SHOP_GATEWAY: system.gateway,
  });

  async function withWindow(name: string) {
    const started = Date.now();
    const app = await startShopApp(name, [], windowEnv(name));
    return { app, started, dataHome: join(home, `${name}-data`) };
  }

  async function windowPage(url: string): Promise<Page> {
    const browserOfWindow = await waitFor('the window to take connections', () => chromium.connectOverCDP(`http://127.0.0.1:${debugPort}`));
    return waitFor('the shop in the window', async () => browserOfWindow.contexts().flatMap((context) => context.pages()).find((page) => page.url() === url));
  }

  it('opens the shop in an app window with a profile of its own, where an order gets paid; closing the window quits Shop', async () => {
    const { app, started, dataHome } = await withWindow('window');
    await waitFor('the app to say it opened its window', async () => app.output().includes('Opened the Shop window; closing it quits Shop.'));
    const page = await windowPage(app.url);
    expect(existsSync(join(dataHome, 'shop', 'window'))).toBe(true);
    await expect.poll(() => page.getByTestId('desktop-gateway').textContent()).toBe(system.gateway);
    await walletWith(page, 3, '25');
    await paidOrder(page, 'A woolly hat', '9.90');
    await paidOrder(page, 'A pair of socks', '12.50');
    await expect.poll(() => page.getByTestId('balance').textContent()).toBe('2.60');
    await page.screenshot({ path: join(output, 'desktop-app-window.png') });

    // Started again (a second double-click): another window of this Shop, and no second Shop.
    const again = await run(linuxExe, [], { env: windowEnv('window'), timeout: 20_000 });
    expect(again.stdout).toContain(`Shop is already running at ${app.url}: opened a window of it.`);
    const windows = await waitFor('the second window', async () => {
      const pages = page.context().pages().filter((each) => each.url() === app.url);
      return pages.length === 2 && pages;
    });
    await windows.find((each) => each !== page)!.close();
    expect(app.child.exitCode).toBeNull();

    // A window gone within its first seconds is taken for one handed to a browser already running.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, started + 4_000 - Date.now())));
    await page.close();
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('Shop stopped (the window was closed).');
  });

  it('closes its window when it is stopped with Ctrl+C', async () => {
    const { app } = await withWindow('interrupted');
    await windowPage(app.url);
    app.child.kill('SIGINT');
    expect(await app.exited).toBe(0);
    expect(app.output()).toContain('Shop stopped (Ctrl+C).');
    await waitFor('the window to be gone', async () => !(await fetch(`http://127.0.0.1:${debugPort}/json/version`).then(() => true, () => false)));
  });
});
