// The command line of the desktop app: flags in, options out, or a UsageError (exit code 2) that
// says what was wrong and how to ask for help.
import { parseGatewayAddress } from './settings.js';

export interface Options {
  /** undefined: the port of last time if free, else any free one */
  port?: number;
  gateway?: string;
  headless: boolean;
  help: boolean;
  version: boolean;
}

export class UsageError extends Error {}

export function usage(program: string): string {
  return `Usage: ${program} [options]

Shop's desktop app: serves the shop's page on this computer (127.0.0.1), talks to the shop's
gateway for you, and opens the page in an app window. Close the window, or press Ctrl+C, to quit.

Options:
  --gateway URL   the shop's gateway (default: SHOP_GATEWAY, else the address saved in the settings
                  file, else http://127.0.0.1:8005)
  --port N        serve on port N of 127.0.0.1 (default: the port of last time if it is free, else
                  any free port)
  --headless      open no window; print the address and serve until Ctrl+C or SIGTERM
  --help          show this text and exit
  --version       show the version and exit
`;
}

function portOf(text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`--port takes a port number from 0 to 65535, got "${text}"`);
  return Number(text);
}

/** Accepts `--name value` and `--name=value`. */
export function parseArgs(argv: readonly string[]): Options {
  const options: Options = { headless: false, help: false, version: false };
  const flags = new Set(['headless', 'help', 'version'] as const);
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index]!;
    const match = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (!match) throw new UsageError(arg.startsWith('-') ? `unknown option ${arg}` : `unexpected argument "${arg}"`);
    const [, name, inline] = match as unknown as [string, string, string | undefined];
    if (flags.has(name as 'headless')) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      options[name as 'headless' | 'help' | 'version'] = true;
      continue;
    }
    if (name !== 'port' && name !== 'gateway') throw new UsageError(`unknown option --${name}`);
    const value = inline ?? argv[++index];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    if (name === 'port') options.port = portOf(value);
    else {
      try {
        options.gateway = parseGatewayAddress(value);
      } catch (error) {
        throw new UsageError(`--gateway: ${(error as Error).message}`);
      }
    }
  }
  return options;
}
