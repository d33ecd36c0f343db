// One run of the desktop app: settings read, the page served on 127.0.0.1, its address printed, the
// window opened; it ends when the window is closed or `stop` is called (Ctrl+C, SIGTERM).
import type { Options } from './cli.js';
import type { Assets } from './assets.js';
import { createDesktopServer, type About, type DesktopServer } from './server.js';
import { chooseGateway, places, settingsFile, settingsStore, type GatewaySource } from './settings.js';
import { windowCommand, type Lookup, type OpenWindow, type WindowCommand } from './window.js';

export interface ShopEnvironment {
  about: About;
  env: NodeJS.ProcessEnv;
  home: string;
  assets: Assets;
  print(line: string): void;
  warn(line: string): void;
  /** Whether an executable file is at a path, for finding the browser */
  exists: Lookup['exists'];
  openWindow(command: WindowCommand): OpenWindow;
}

interface RunningShop {
  url: string;
  /** Another run of Shop already serves the page: this one only opened a window of it */
  alreadyRunning: boolean;
  /** Resolves with why it stopped once it has */
  stopped: Promise<string>;
  stop(why: string): Promise<string>;
}

export class StartError extends Error {}

async function listenOn(server: DesktopServer, wanted: number | undefined, remembered: number | undefined): Promise<number> {
  if (wanted !== undefined) {
    try {
      return await server.listen(wanted);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw new StartError(`Port ${wanted} of 127.0.0.1 is in use: choose another with --port, or leave --port out for a free one`);
      throw new StartError(`Cannot serve on port ${wanted} of 127.0.0.1 (${code ?? (error as Error).message})`);
    }
  }
  if (remembered !== undefined) {
    try {
      return await server.listen(remembered);
    } catch {
      // Taken since last time: any free port will do.
    }
  }
  return server.listen(0);
}

/** The address of a Shop of the same settings file already serving on `port` (a second start), else undefined. */
async function runningShopAt(port: number, file: string, timeoutMs = 1_000): Promise<string | undefined> {
  const url = `http://127.0.0.1:${port}/`;
  try {
    const response = await fetch(`${url}desktop/settings`, { signal: AbortSignal.timeout(timeoutMs) });
    const settings = (await response.json()) as { settings_file?: unknown };
    return settings.settings_file === file ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function runShop(options: Options, shop: ShopEnvironment): Promise<RunningShop> {
  const { configDir, dataDir } = places(shop.about.platform, shop.env, shop.home);
  const store = settingsStore(settingsFile(configDir, shop.about.platform), shop.warn);
  const saved = await store.load();
  const { gateway, source } = chooseGateway(options.gateway, shop.env, saved);
  const lookup = { platform: shop.about.platform, env: shop.env, exists: shop.exists };
  const profile = `${dataDir}${shop.about.platform === 'win32' ? '\\' : '/'}window`;
  // Started again while it runs (a second double-click): a window of the running one, not a second shop.
  const running = !options.headless && options.port === undefined && saved.port !== undefined ? await runningShopAt(saved.port, store.file) : undefined;
  if (running) {
    shop.openWindow(windowCommand(running, profile, lookup));
    shop.print(`Shop is already running at ${running}: opened a window of it.`);
    const why = Promise.resolve('already running');
    return { url: running, alreadyRunning: true, stopped: why, stop: () => why };
  }
  const server = createDesktopServer({ assets: shop.assets, about: shop.about, gateway: { address: gateway, source }, store });
  const port = await listenOn(server, options.port, saved.port);
  const url = `http://127.0.0.1:${port}/`;
  if (port !== saved.port) await store.save({ port }).catch((error: Error) => shop.warn(`Cannot remember the port in ${store.file}: ${error.message}`));

  shop.print(`Shop ${shop.about.version} (${shop.about.platform}-${shop.about.arch}) is serving the shop at ${url}`);
  shop.print(`It talks to the gateway at ${gateway} (${describeSource(source)}); settings: ${store.file}`);

  let window: OpenWindow | undefined;
  let finish!: (why: string) => void;
  const stopped = new Promise<string>((resolve) => (finish = resolve));
  let stopping: Promise<string> | undefined;
  const stop = (why: string) =>
    (stopping ??= (async () => {
      window?.close();
      await server.close();
      finish(why);
      return why;
    })());

  if (options.headless) {
    shop.print('No window (--headless). Press Ctrl+C to quit.');
  } else {
    const command = windowCommand(url, profile, lookup);
    window = shop.openWindow(command);
    shop.print(command.kind === 'app' ? 'Opened the Shop window; closing it quits Shop.' : `Opened ${url} in your browser. Press Ctrl+C to quit.`);
    void window.ended.then((end) => {
      if (end.closed) return void stop('the window was closed');
      if (!stopping) shop.print(`Shop keeps running (${end.why}): open ${url} in a browser, and press Ctrl+C to quit.`);
    });
  }
  return { url, alreadyRunning: false, stopped, stop };
}

function describeSource(source: GatewaySource): string {
  return { flag: 'from --gateway', environment: 'from SHOP_GATEWAY', settings: 'saved in the settings', default: 'the default' }[source];
}
