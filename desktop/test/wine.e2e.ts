// dist/desktop/Shop.exe as a Windows PC runs it: under wine, in a fresh prefix set to Windows 10,
// with no display, its output in a file (Node under wine fails writing to a pipe). It says it runs
// on win32, serves the page, and an order placed through it against the running shop is paid.
import { execFile, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, freePort, placePaidOrder, readStream, startApp, startSystem, windowsExe, type RunningApp, type RunningSystem } from './support.js';

const run = promisify(execFile);
const exe = resolve(windowsExe);
let system: RunningSystem;
let prefix: string;
let env: NodeJS.ProcessEnv;
let app: RunningApp & { url: string };

/** A program of wine's to its end, its output in a file and shown when it fails. */
async function wine(args: string[], logName: string): Promise<{ code: number | null; output: string }> {
  const logFile = join(prefix, `${logName}.log`);
  const log = openSync(logFile, 'w');
  const child = spawn('wine', args, { env, stdio: ['ignore', log, log] });
  closeSync(log);
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  return { code, output: readFileSync(logFile, 'utf8') };
}

beforeAll(async () => {
  prefix = mkdtempSync(join(tmpdir(), 'shop-wine-'));
  const { DISPLAY: _display, WAYLAND_DISPLAY: _wayland, ...rest } = process.env;
  // No Mono or Gecko: wine would offer to download them, and a console program needs neither.
  env = { ...rest, WINEPREFIX: join(prefix, 'wine'), WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=' };
  const [, shop] = await Promise.all([
    (async () => {
      const boot = await wine(['wineboot', '--init'], 'wineboot');
      if (boot.code !== 0) throw new Error(`wineboot failed:\n${boot.output}`);
      // Wine's default, Windows 7, is older than Node 22 starts on (it exits with code 216).
      const version = await wine(['reg', 'add', 'HKCU\\Software\\Wine', '/v', 'Version', '/d', 'win10', '/f'], 'reg');
      if (version.code !== 0) throw new Error(`the prefix could not be set to Windows 10:\n${version.output}`);
    })(),
    startSystem('desktop_wine'),
  ]);
  system = shop;
});

afterAll(async () => {
  app?.child.kill('SIGKILL');
  if (env) await run('wineserver', ['-k'], { env }).catch(() => undefined);
  await system?.stop();
  if (prefix) rmSync(prefix, { recursive: true, force: true });
});

describe('Shop.exe under wine', () => {
  it('answers --version as a Windows program', async () => {
    const { code, output } = await wine([exe, '--version'], 'version');
    expect({ code, output: output.trim() }).toEqual({ code: 0, output: 'Shop 0.1.0 (win32-x64, Node.js v22.23.3)' });
  });

  it('refuses a bad flag with exit code 2 and a message', async () => {
    const { code, output } = await wine([exe, '--gateway', 'ftp://x'], 'bad-flag');
    expect(code).toBe(2);
    expect(output).toContain('Shop.exe: --gateway: "ftp://x" must start with http:// or https://');
  });

  it('starts --headless, says it runs on win32 and keeps its settings in %APPDATA%\\Shop', async () => {
    const port = await freePort();
    app = await startApp('wine', [exe, '--headless', '--port', String(port), '--gateway', system.gateway], env, join(prefix, 'shop.log'));
    expect(app.url).toBe(`http://127.0.0.1:${port}/`);
    expect(app.output()).toContain('Shop 0.1.0 (win32-x64) is serving the shop at');
    const status = await (await fetch(`${app.url}desktop/status`)).json();
    expect(status).toMatchObject({ platform: 'win32', arch: 'x64', node: 'v22.23.3', gateway: system.gateway, reachable: true });
    expect(status.settings_file).toMatch(/^C:\\users\\[^\\]+\\AppData\\Roaming\\Shop\\settings\.json$/);
    const users = join(env.WINEPREFIX!, 'drive_c', 'users');
    const saved = readdirSync(users).map((user) => join(users, user, 'AppData', 'Roaming', 'Shop', 'settings.json')).find((file) => existsSync(file));
    expect(JSON.parse(readFileSync(saved!, 'utf8'))).toEqual({ port });
  });

  it('serves the page with the desktop bar from its embedded files', async () => {
    const page = await fetch(app.url);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script type="module" src="/web/app.js"></script>');
    expect(html).toContain('<script src="/desktop/desktop.js" defer></script>');
    for (const path of ['web/app.js', 'web/app.css', 'desktop/desktop.js', 'desktop/desktop.css', 'sw.js']) expect((await fetch(app.url + path)).status, path).toBe(200);
  });

  it('places an order through it that gets paid, its status pushed through the stream', async () => {
    let orderId = '';
    let status = '';
    const text = await readStream(`${app.url}api/purchases/stream?user_id=1`, (seen) => orderId !== '' && seen.includes(`"id":"${orderId}"`), async () => {
      const order = await placePaidOrder(api(app.url.slice(0, -1)), 1);
      orderId = order.id;
      status = order.settled.status;
    });
    expect(status).toBe('FINISHED');
    expect(text).toMatch(new RegExp(`event: status\\ndata: \\{"id":"${orderId}".*"status":"FINISHED"`));
  });

  it('says plainly when the gateway it is switched to cannot be reached', async () => {
    const wrong = `http://127.0.0.1:${await freePort()}`;
    const response = await fetch(`${app.url}desktop/settings`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ gateway: wrong }) });
    expect(await response.json()).toMatchObject({ gateway: wrong, reachable: false, detail: expect.stringMatching(/^Shop cannot reach the gateway at /) });
    const api502 = await fetch(`${app.url}api/wallet/1`);
    expect(api502.status).toBe(502);
    expect((await api502.json()).detail).toMatch(new RegExp(`^Shop cannot reach the gateway at ${wrong}: `));
  });
});
