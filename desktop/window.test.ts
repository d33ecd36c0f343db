// Which window the app opens, as pure logic: no browser is started here.
import { describe, expect, it } from 'vitest';
import { handOffMs, isExecutable, openWindow, windowCommand, windowEnd, type Lookup } from './window.js';

const url = 'http://127.0.0.1:8123/';
const appFlags = (profile: string) => [`--app=${url}`, `--user-data-dir=${profile}`, '--no-first-run', '--no-default-browser-check', '--window-size=1180,860'];

function on(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, files: string[]): Lookup {
  return { platform, env, exists: (file) => files.includes(file) };
}

describe('the window on Windows', () => {
  const env = { 'ProgramFiles(x86)': 'C:\\Program Files (x86)', ProgramFiles: 'C:\\Program Files', LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' };
  const profile = 'C:\\Users\\ann\\AppData\\Local\\Shop\\window';
  const edge = 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe';

  it("is Microsoft Edge's app window, with the app's own profile", () => {
    expect(windowCommand(url, profile, on('win32', env, [edge]))).toEqual({ command: edge, args: appFlags(profile), kind: 'app' });
  });

  it('finds Edge installed for one user, and Chrome where there is no Edge', () => {
    const userEdge = 'C:\\Users\\ann\\AppData\\Local\\Microsoft\\Edge\\Application\\msedge.exe';
    expect(windowCommand(url, profile, on('win32', env, [userEdge])).command).toBe(userEdge);
    const chrome = 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe';
    expect(windowCommand(url, profile, on('win32', env, [chrome]))).toMatchObject({ command: chrome, kind: 'app' });
    expect(windowCommand(url, profile, on('win32', env, [chrome, edge])).command).toBe(edge);
  });

  it('falls back to the default browser through cmd /c start', () => {
    expect(windowCommand(url, profile, on('win32', env, []))).toEqual({
      command: 'cmd.exe',
      args: ['/d', '/s', '/c', `start "" "${url}"`],
      kind: 'browser',
      verbatim: true,
    });
    expect(windowCommand(url, profile, on('win32', {}, [])).command).toBe('cmd.exe');
  });
});

describe('the window on Linux', () => {
  const env = { PATH: '/usr/local/bin:/usr/bin' };
  const profile = '/home/ann/.local/share/shop/window';

  it("is Chromium's app window, with the app's own profile", () => {
    expect(windowCommand(url, profile, on('linux', env, ['/usr/bin/chromium', '/usr/bin/google-chrome']))).toEqual({
      command: '/usr/bin/chromium',
      args: appFlags(profile),
      kind: 'app',
    });
  });

  it("is Chrome's where there is no Chromium, found on PATH in its order", () => {
    expect(windowCommand(url, profile, on('linux', env, ['/usr/bin/google-chrome-stable', '/usr/local/bin/google-chrome-stable'])).command).toBe(
      '/usr/local/bin/google-chrome-stable',
    );
    expect(windowCommand(url, profile, on('linux', env, ['/usr/bin/chromium-browser'])).command).toBe('/usr/bin/chromium-browser');
  });

  it('falls back to the default browser through xdg-open', () => {
    expect(windowCommand(url, profile, on('linux', env, ['/opt/chromium']))).toEqual({ command: 'xdg-open', args: [url], kind: 'browser' });
    expect(windowCommand(url, profile, on('linux', {}, []))).toEqual({ command: 'xdg-open', args: [url], kind: 'browser' });
  });
});

describe('how a window ended', () => {
  it('is closed by the person when the app window lived a while', () => {
    expect(windowEnd('app', handOffMs + 1, 0)).toEqual({ closed: true });
  });

  it('is not the end of the app when the window went at once, or was the default browser', () => {
    expect(windowEnd('app', 200, 0)).toEqual({ closed: false, why: 'the window was handed to a browser already running' });
    expect(windowEnd('app', 200, 1)).toEqual({ closed: false, why: 'the window could not start (exit code 1)' });
    expect(windowEnd('browser', 60_000, 0)).toEqual({ closed: false, why: 'the page was handed to the default browser' });
  });
});

describe('a window process', () => {
  it('is found where an executable file is', () => {
    expect(isExecutable(process.execPath)).toBe(true);
    expect(isExecutable('/nonexistent/chromium')).toBe(false);
  });

  it('that ends at once is not taken for a closed window; one that cannot start says why', async () => {
    const quick = openWindow({ command: process.execPath, args: ['-e', ''], kind: 'app' });
    expect(await quick.ended).toEqual({ closed: false, why: 'the window was handed to a browser already running' });
    const missing = openWindow({ command: '/nonexistent/chromium', args: [], kind: 'app' });
    expect(await missing.ended).toEqual({ closed: false, why: '/nonexistent/chromium could not start (ENOENT)' });
  });

  it('is ended by close(), and only when it is the app window', async () => {
    const app = openWindow({ command: process.execPath, args: ['-e', 'setTimeout(() => {}, 60_000)'], kind: 'app' });
    app.close();
    await app.ended;
    expect(app.child.signalCode).toBe('SIGTERM');
    const browser = openWindow({ command: process.execPath, args: ['-e', 'setTimeout(() => {}, 200)'], kind: 'browser' });
    browser.close();
    expect(await browser.ended).toEqual({ closed: false, why: 'the page was handed to the default browser' });
    expect(browser.child.exitCode).toBe(0);
  });
});
