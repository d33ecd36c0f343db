// The app window: Microsoft Edge's (or Chrome's) --app window on Windows, Chromium's or Chrome's on
// Linux, each with a browser profile of the app's own, so the window is a process of its own that
// ends when the window is closed; where none is found, the default browser.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export interface WindowCommand {
  command: string;
  args: string[];
  /** 'app': the process is the window and ends with it; 'browser': it hands the page to the default browser and ends */
  kind: 'app' | 'browser';
  /** Windows: arguments passed to cmd.exe as they are, since cmd does not read C-style quoting */
  verbatim?: boolean;
}

export interface Lookup {
  platform: NodeJS.Platform;
  env: NodeJS.ProcessEnv;
  /** Whether an executable file is at this path */
  exists(file: string): boolean;
}

const windowSize = '--window-size=1180,860';

function appArgs(url: string, profileDir: string): string[] {
  return [`--app=${url}`, `--user-data-dir=${profileDir}`, '--no-first-run', '--no-default-browser-check', windowSize];
}

/** Where Edge and Chrome install themselves: for all users (both Program Files folders) or for one. */
function windowsBrowsers(env: NodeJS.ProcessEnv): string[] {
  const roots = [env['ProgramFiles(x86)'], env.ProgramFiles, env.LOCALAPPDATA].filter((root): root is string => Boolean(root));
  const within = (...parts: string[]) => roots.map((root) => path.win32.join(root, ...parts));
  return [...within('Microsoft', 'Edge', 'Application', 'msedge.exe'), ...within('Google', 'Chrome', 'Application', 'chrome.exe')];
}

const linuxBrowsers = ['chromium', 'chromium-browser', 'google-chrome-stable', 'google-chrome', 'microsoft-edge-stable'];

function onPath(name: string, lookup: Lookup): string | undefined {
  const dirs = (lookup.env.PATH ?? '').split(path.posix.delimiter).filter(Boolean);
  return dirs.map((dir) => path.posix.join(dir, name)).find((file) => lookup.exists(file));
}

/** The command that opens `url` in a window, without starting anything. */
export function windowCommand(url: string, profileDir: string, lookup: Lookup): WindowCommand {
  if (lookup.platform === 'win32') {
    const browser = windowsBrowsers(lookup.env).find((file) => lookup.exists(file));
    if (browser) return { command: browser, args: appArgs(url, profileDir), kind: 'app' };
    // `start` treats its first quoted argument as a window title: hence the empty one.
    return { command: 'cmd.exe', args: ['/d', '/s', '/c', `start "" "${url}"`], kind: 'browser', verbatim: true };
  }
  if (lookup.platform === 'darwin') return { command: 'open', args: [url], kind: 'browser' };
  for (const name of linuxBrowsers) {
    const browser = onPath(name, lookup);
    if (browser) return { command: browser, args: appArgs(url, profileDir), kind: 'app' };
  }
  return { command: 'xdg-open', args: [url], kind: 'browser' };
}

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * A window process that ends this soon after it started has most likely handed the page to a
 * browser that was already running with that profile (a second Shop), not been closed by a person.
 */
export const handOffMs = 3_000;

export type WindowEnd = { closed: true } | { closed: false; why: string };

/** Reads how a window process ended: closed by the person, or gone at once. */
export function windowEnd(kind: WindowCommand['kind'], livedMs: number, code: number | null): WindowEnd {
  if (kind === 'browser') return { closed: false, why: 'the page was handed to the default browser' };
  if (livedMs < handOffMs) return { closed: false, why: code === 0 ? 'the window was handed to a browser already running' : `the window could not start (exit code ${code})` };
  return { closed: true };
}

export interface OpenWindow {
  command: WindowCommand;
  child: ChildProcess;
  /** Resolves when the window process has ended, with how */
  ended: Promise<WindowEnd>;
  close(): void;
}

export function openWindow(command: WindowCommand): OpenWindow {
  const started = Date.now();
  const child = spawn(command.command, command.args, {
    stdio: 'ignore',
    windowsHide: command.kind === 'browser',
    windowsVerbatimArguments: command.verbatim ?? false,
  });
  const ended = new Promise<WindowEnd>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => resolve({ closed: false, why: `${command.command} could not start (${error.code ?? error.message})` }));
    child.once('exit', (code) => resolve(windowEnd(command.kind, Date.now() - started, code)));
  });
  return {
    command,
    child,
    ended,
    close() {
      if (command.kind === 'app' && child.exitCode === null && child.signalCode === null) child.kill();
    },
  };
}
