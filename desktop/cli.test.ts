import { describe, expect, it } from 'vitest';
import { parseArgs, usage, UsageError } from './cli.js';

describe('the command line', () => {
  it('takes no flags as: a window, the remembered or a free port, the gateway from elsewhere', () => {
    expect(parseArgs([])).toEqual({ headless: false, help: false, version: false });
  });

  it('reads every flag, with its value after a space or an equals sign', () => {
    expect(parseArgs(['--headless', '--port', '8123', '--gateway=shop.example:8005'])).toEqual({
      headless: true,
      help: false,
      version: false,
      port: 8123,
      gateway: 'http://shop.example:8005',
    });
    expect(parseArgs(['--help']).help).toBe(true);
    expect(parseArgs(['--version']).version).toBe(true);
    expect(parseArgs(['--port=0']).port).toBe(0);
  });

  it.each([
    [['--bogus'], 'unknown option --bogus'],
    [['-h'], 'unknown option -h'],
    [['shop.example'], 'unexpected argument "shop.example"'],
    [['--port'], '--port needs a value'],
    [['--port', '--headless'], '--port needs a value'],
    [['--port', '65536'], '--port takes a port number from 0 to 65535, got "65536"'],
    [['--port', '80a'], '--port takes a port number from 0 to 65535, got "80a"'],
    [['--gateway', 'ftp://shop.example'], '--gateway: "ftp://shop.example" must start with http:// or https://'],
    [['--gateway='], '--gateway: The gateway address is empty: give one such as http://127.0.0.1:8005'],
    [['--headless=yes'], '--headless takes no value'],
  ])('refuses %j with a message that names the flag', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(new UsageError(message));
  });

  it('describes every flag it takes in its help', () => {
    const text = usage('shop');
    for (const flag of ['--gateway URL', '--port N', '--headless', '--help', '--version']) expect(text).toContain(flag);
    expect(text).toMatch(/^Usage: shop \[options\]/);
  });
});
