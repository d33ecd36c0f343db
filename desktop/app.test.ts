import { EventEmitter } from 'node:events';
import net from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../scripts/lib/freePort.js';
import { runShop, StartError, type ShopEnvironment } from './app.js';
import { loadAssets } from './assets.js';
import type { Options } from './cli.js';
import { AddressError } from './settings.js';
import type { OpenWindow, WindowCommand, WindowEnd } from './window.js';

let home: string;
beforeAll(async () => {
  home = await mkdtemp(join(tmpdir(), 'shop-app-'));
});
afterAll(() => rm(home, { recursive: true, force: true }));

const headless: Options = { headless: true, help: false, version: false };

/** The app on Linux with its config under a folder of the test's own, and a window that ends when told. */
function environment(env: NodeJS.ProcessEnv = {}) {
  const printed: string[] = [];
  const windows: { command: WindowCommand; end(how: WindowEnd): void; closed: boolean }[] = [];
  const shop: ShopEnvironment = {
    about: { version: '1.2.3', platform: 'linux', arch: 'x64', node: 'v22.0.0' },
    env: { XDG_CONFIG_HOME: join(home, 'config'), XDG_DATA_HOME: join(home, 'data'), PATH: '/usr/bin', ...env },
    home,
    assets: loadAssets((name) => Buffer.from(name === 'index.html' ? '<head></head>' : name)),
    print: (line) => printed.push(line),
    warn: (line) => printed.push(`warning: ${line}`),
    exists: (file) => file === '/usr/bin/chromium',
    openWindow(command) {
      let end!: (how: WindowEnd) => void;
      const ended = new Promise<WindowEnd>((resolve) => (end = resolve));
      const window = { command, end, closed: false };
      windows.push(window);
      return { command, child: new EventEmitter(), ended, close: () => (window.closed = true) } as unknown as OpenWindow;
    },
  };
  return { shop, printed, windows };
}

describe('a run of the desktop app', () => {
  it('serves the page, prints its address and gateway, and remembers its port for next time', async () => {
    const { shop, printed } = environment();
    const running = await runShop(headless, shop);
    const port = Number(new URL(running.url).port);
    expect(running.url).toBe(`http://127.0.0.1:${port}/`);
    expect((await fetch(running.url)).status).toBe(200);
    const file = join(home, 'config', 'shop', 'settings.json');
    expect(printed).toEqual([
      `Shop 1.2.3 (linux-x64) is serving the shop at ${running.url}`,
      `It talks to the gateway at http://127.0.0.1:8005 (the default); settings: ${file}`,
      'No window (--headless). Press Ctrl+C to quit.',
    ]);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ port });
    expect(await running.stop('SIGTERM')).toBe('SIGTERM');
    expect(await running.stopped).toBe('SIGTERM');
    await expect(fetch(running.url)).rejects.toThrow();

    const again = await runShop(headless, environment().shop);
    expect(again.url).toBe(running.url);
    await again.stop('test');
  });

  it('takes another free port when the remembered one is taken, and says so nowhere else', async () => {
    const first = await runShop(headless, environment().shop);
    const second = await runShop(headless, environment().shop);
    expect(second.url).not.toBe(first.url);
    await Promise.all([first.stop('test'), second.stop('test')]);
  });

  it('stops with a clear message when the port it was given is in use', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    await expect(runShop({ ...headless, port }, environment().shop)).rejects.toThrow(
      new StartError(`Port ${port} of 127.0.0.1 is in use: choose another with --port, or leave --port out for a free one`),
    );
    taken.close();
  });

  it('serves on the port it was given, with the gateway of --gateway over SHOP_GATEWAY', async () => {
    const port = await freePort();
    const { shop, printed } = environment({ SHOP_GATEWAY: 'http://env:1' });
    const running = await runShop({ ...headless, port, gateway: 'http://flag:1' }, shop);
    expect(running.url).toBe(`http://127.0.0.1:${port}/`);
    expect(printed[1]).toMatch(/^It talks to the gateway at http:\/\/flag:1 \(from --gateway\)/);
    await running.stop('test');
  });

  it('refuses a bad SHOP_GATEWAY before it serves anything', async () => {
    await expect(runShop(headless, environment({ SHOP_GATEWAY: 'ftp://x' }).shop)).rejects.toThrow(AddressError);
  });
});

describe('the window of a run', () => {
  it("is Chromium's app window on the page's address, with its profile in the app's data folder", async () => {
    const { shop, windows, printed } = environment();
    const running = await runShop({ ...headless, headless: false }, shop);
    expect(windows).toHaveLength(1);
    expect(windows[0]!.command.command).toBe('/usr/bin/chromium');
    expect(windows[0]!.command.args).toContain(`--app=${running.url}`);
    expect(windows[0]!.command.args).toContain(`--user-data-dir=${join(home, 'data', 'shop', 'window')}`);
    expect(printed).toContain('Opened the Shop window; closing it quits Shop.');
    windows[0]!.end({ closed: true });
    expect(await running.stopped).toBe('the window was closed');
  });

  it('opens a window of the Shop already running when it is started again, and serves nothing of its own', async () => {
    const first = await runShop(headless, environment().shop);
    const { shop, windows, printed } = environment();
    const second = await runShop({ ...headless, headless: false }, shop);
    expect(second).toMatchObject({ url: first.url, alreadyRunning: true });
    expect(windows.map((window) => window.command.args[0])).toEqual([`--app=${first.url}`]);
    expect(printed.at(-1)).toBe(`Shop is already running at ${first.url}: opened a window of it.`);
    expect(await second.stopped).toBe('already running');
    await first.stop('test');

    const alone = await runShop({ ...headless, headless: false }, environment().shop);
    expect(alone).toMatchObject({ url: first.url, alreadyRunning: false });
    await alone.stop('test');
  });

  it('keeps the app running when the window went at once, and closes the window when the app is stopped', async () => {
    const { shop, windows, printed } = environment();
    const running = await runShop({ ...headless, headless: false }, shop);
    windows[0]!.end({ closed: false, why: 'the window was handed to a browser already running' });
    await expect.poll(() => printed.at(-1)).toBe(
      `Shop keeps running (the window was handed to a browser already running): open ${running.url} in a browser, and press Ctrl+C to quit.`,
    );
    expect((await fetch(running.url)).status).toBe(200);
    await running.stop('Ctrl+C');
    expect(windows[0]!.closed).toBe(true);
  });
});
