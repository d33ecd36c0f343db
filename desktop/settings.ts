// Where the desktop app keeps what it remembers (the gateway's address, the port it served on), and
// which gateway it talks to: --gateway, else SHOP_GATEWAY, else the settings file, else the default.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

export const defaultGateway = 'http://127.0.0.1:8005';

export interface Settings {
  /** The gateway's address, as saved from the page */
  gateway?: string;
  /** The port served on last time: tried first, so the page keeps what it stored for its origin */
  port?: number;
}

export type GatewaySource = 'flag' | 'environment' | 'settings' | 'default';

interface Places {
  /** The folder of settings.json */
  configDir: string;
  /** The folder of the app window's browser profile */
  dataDir: string;
}

/**
 * %APPDATA%\Shop on Windows (the profile of the app window, which is large and machine-bound, in
 * %LOCALAPPDATA%\Shop); on Linux and elsewhere $XDG_CONFIG_HOME/shop or ~/.config/shop, and
 * $XDG_DATA_HOME/shop or ~/.local/share/shop for the window's profile.
 */
export function places(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, home: string): Places {
  if (platform === 'win32') {
    const win = path.win32;
    const roaming = env.APPDATA || win.join(home, 'AppData', 'Roaming');
    const local = env.LOCALAPPDATA || win.join(home, 'AppData', 'Local');
    return { configDir: win.join(roaming, 'Shop'), dataDir: win.join(local, 'Shop') };
  }
  const posix = path.posix;
  const config = env.XDG_CONFIG_HOME || posix.join(home, '.config');
  const data = env.XDG_DATA_HOME || posix.join(home, '.local', 'share');
  return { configDir: posix.join(config, 'shop'), dataDir: posix.join(data, 'shop') };
}

export function settingsFile(configDir: string, platform: NodeJS.Platform): string {
  return (platform === 'win32' ? path.win32 : path.posix).join(configDir, 'settings.json');
}

export class AddressError extends Error {}

/**
 * The gateway's address as a canonical base URL without a trailing slash. "host:port" alone means
 * http://host:port; only http and https, no user name or password, no query or fragment.
 */
export function parseGatewayAddress(text: string): string {
  const trimmed = text.trim();
  if (!trimmed) throw new AddressError('The gateway address is empty: give one such as http://127.0.0.1:8005');
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new AddressError(`"${trimmed}" is not a web address: give one such as http://127.0.0.1:8005`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new AddressError(`"${trimmed}" must start with http:// or https://`);
  }
  if (url.username || url.password) throw new AddressError(`"${trimmed}" must not contain a user name or password`);
  if (url.search || url.hash) throw new AddressError(`"${trimmed}" must not contain a query (?) or a fragment (#)`);
  return `${url.protocol}//${url.host}${url.pathname.replace(/\/+$/, '')}`;
}

/** The gateway to talk to and where that choice came from. Throws AddressError naming the source of a bad address. */
export function chooseGateway(flag: string | undefined, env: NodeJS.ProcessEnv, saved: Settings): { gateway: string; source: GatewaySource } {
  if (flag !== undefined) return { gateway: parseGatewayAddress(flag), source: 'flag' };
  if (env.SHOP_GATEWAY) {
    try {
      return { gateway: parseGatewayAddress(env.SHOP_GATEWAY), source: 'environment' };
    } catch (error) {
      throw new AddressError(`SHOP_GATEWAY: ${(error as Error).message}`);
    }
  }
  if (saved.gateway !== undefined) return { gateway: saved.gateway, source: 'settings' };
  return { gateway: defaultGateway, source: 'default' };
}

/** Only the fields it knows, each checked: a hand-edited file with a bad value loses that value, not the rest. */
function validSettings(value: unknown): { settings: Settings; problems: string[] } {
  const settings: Settings = {};
  const problems: string[] = [];
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { settings, problems: ['it does not hold a JSON object'] };
  const { gateway, port } = value as Record<string, unknown>;
  if (gateway !== undefined) {
    try {
      if (typeof gateway !== 'string') throw new AddressError('"gateway" must be a string');
      settings.gateway = parseGatewayAddress(gateway);
    } catch (error) {
      problems.push(`gateway: ${(error as Error).message}`);
    }
  }
  if (port !== undefined) {
    if (Number.isInteger(port) && (port as number) > 0 && (port as number) < 65536) settings.port = port as number;
    else problems.push(`port: ${JSON.stringify(port)} is not a port number`);
  }
  return { settings, problems };
}

export interface SettingsStore {
  readonly file: string;
  /** What the file holds; a missing file is no settings, an unreadable one is reported through `warn` */
  load(): Promise<Settings>;
  /** Merges `change` into the file, written whole through a temporary file so a crash never leaves half of it */
  save(change: Settings): Promise<Settings>;
}

export function settingsStore(file: string, warn: (message: string) => void): SettingsStore {
  let current: Settings = {};
  return {
    file,
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') warn(`Cannot read the settings file ${file} (${(error as NodeJS.ErrnoException).code}); using the defaults`);
        return (current = {});
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        warn(`The settings file ${file} is not valid JSON; using the defaults (saving a new address replaces it)`);
        return (current = {});
      }
      const { settings, problems } = validSettings(parsed);
      for (const problem of problems) warn(`The settings file ${file}: ${problem}; ignored`);
      return (current = settings);
    },
    async save(change) {
      const next = { ...current, ...change };
      await mkdir(path.dirname(file), { recursive: true });
      const temporary = `${file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(next, null, 2)}\n`);
      await rename(temporary, file);
      return (current = next);
    },
  };
}
