// The entry point of Shop.exe and shop: flags, the page's files, signals and exit codes around one
// run of the app. Exit codes: 0 after a clean stop, 1 when it cannot start, 2 for a bad flag or address.
import os from 'node:os';
import path from 'node:path';
import sea from 'node:sea';
import { runShop, StartError } from './app.js';
import { folderReader, loadAssets } from './assets.js';
import { parseArgs, usage, UsageError } from './cli.js';
import { AddressError } from './settings.js';
import { isExecutable, openWindow } from './window.js';

/** package.json's version, set by the build */
declare const SHOP_VERSION: string;

const program = process.platform === 'win32' ? 'Shop.exe' : 'shop';

function exitWith(code: number, message?: string): never {
  if (message) process.stderr.write(`${program}: ${message}\n`);
  process.exit(code);
}

async function main(): Promise<void> {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) exitWith(2, `${error.message}\nTry "${program} --help".`);
    throw error;
  }
  if (options.help) return void process.stdout.write(usage(program));
  if (options.version) return void process.stdout.write(`Shop ${SHOP_VERSION} (${process.platform}-${process.arch}, Node.js ${process.version})\n`);

  const read = sea.isSea() ? (name: string) => Buffer.from(sea.getAsset(name)) : folderReader(path.join(__dirname, 'assets'));
  let shop;
  try {
    shop = await runShop(options, {
      about: { version: SHOP_VERSION, platform: process.platform, arch: process.arch, node: process.version },
      env: process.env,
      home: os.homedir(),
      assets: loadAssets(read),
      print: (line) => console.log(line),
      warn: (line) => console.error(`${program}: ${line}`),
      exists: isExecutable,
      openWindow,
    });
  } catch (error) {
    if (error instanceof AddressError) exitWith(2, error.message);
    if (error instanceof StartError) exitWith(1, error.message);
    throw error;
  }
  if (shop.alreadyRunning) process.exit(0);
  // SIGHUP: the terminal, or on Windows the console window, was closed; SIGBREAK: Ctrl+Break on Windows.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const) {
    process.on(signal, () => void shop.stop(signal === 'SIGINT' ? 'Ctrl+C' : signal));
  }
  const why = await shop.stopped;
  console.log(`Shop stopped (${why}).`);
  process.exit(0);
}

main().catch((error: Error) => exitWith(1, `stopped by an unexpected error: ${error.message}`));
