import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AddressError, chooseGateway, defaultGateway, parseGatewayAddress, places, settingsFile, settingsStore } from './settings.js';

describe('where the settings are kept', () => {
  it('is %APPDATA%\\Shop on Windows, the window profile in %LOCALAPPDATA%\\Shop', () => {
    const env = { APPDATA: 'C:\\Users\\ann\\AppData\\Roaming', LOCALAPPDATA: 'C:\\Users\\ann\\AppData\\Local' };
    const found = places('win32', env, 'C:\\Users\\ann');
    expect(found).toEqual({ configDir: 'C:\\Users\\ann\\AppData\\Roaming\\Shop', dataDir: 'C:\\Users\\ann\\AppData\\Local\\Shop' });
    expect(settingsFile(found.configDir, 'win32')).toBe('C:\\Users\\ann\\AppData\\Roaming\\Shop\\settings.json');
    expect(places('win32', {}, 'C:\\Users\\ann').configDir).toBe('C:\\Users\\ann\\AppData\\Roaming\\Shop');
  });

  it('is $XDG_CONFIG_HOME/shop on Linux, else ~/.config/shop', () => {
    expect(places('linux', { XDG_CONFIG_HOME: '/x/config', XDG_DATA_HOME: '/x/data' }, '/home/ann')).toEqual({ configDir: '/x/config/shop', dataDir: '/x/data/shop' });
    expect(places('linux', {}, '/home/ann')).toEqual({ configDir: '/home/ann/.config/shop', dataDir: '/home/ann/.local/share/shop' });
    expect(settingsFile('/home/ann/.config/shop', 'linux')).toBe('/home/ann/.config/shop/settings.json');
  });
});

describe('a gateway address', () => {
  it.each([
    ['http://127.0.0.1:8005', 'http://127.0.0.1:8005'],
    ['  http://127.0.0.1:8005/  ', 'http://127.0.0.1:8005'],
    ['shop.example:8005', 'http://shop.example:8005'],
    ['localhost:8005', 'http://localhost:8005'],
    ['192.168.1.20:8005', 'http://192.168.1.20:8005'],
    ['HTTPS://Shop.Example/shop/', 'https://shop.example/shop'],
    ['http://[::1]:8005', 'http://[::1]:8005'],
  ])('%j is %j', (text, canonical) => {
    expect(parseGatewayAddress(text)).toBe(canonical);
  });

  it.each([
    ['', 'is empty'],
    ['ftp://shop.example', 'must start with http:// or https://'],
    ['http://ann:secret@shop.example', 'must not contain a user name or password'],
    ['http://shop.example/?a=1', 'must not contain a query'],
    ['http://shop example', 'is not a web address'],
  ])('%j is refused: %s', (text, why) => {
    expect(() => parseGatewayAddress(text)).toThrow(AddressError);
    expect(() => parseGatewayAddress(text)).toThrow(why);
  });
});

describe('which gateway', () => {
  const saved = { gateway: 'http://saved:1' };

  it('is --gateway, else SHOP_GATEWAY, else the settings file, else the default', () => {
    expect(chooseGateway('http://flag:1', { SHOP_GATEWAY: 'http://env:1' }, saved)).toEqual({ gateway: 'http://flag:1', source: 'flag' });
    expect(chooseGateway(undefined, { SHOP_GATEWAY: 'env:1' }, saved)).toEqual({ gateway: 'http://env:1', source: 'environment' });
    expect(chooseGateway(undefined, {}, saved)).toEqual({ gateway: 'http://saved:1', source: 'settings' });
    expect(chooseGateway(undefined, { SHOP_GATEWAY: '' }, {})).toEqual({ gateway: defaultGateway, source: 'default' });
  });

  it('names SHOP_GATEWAY when its address is bad', () => {
    expect(() => chooseGateway(undefined, { SHOP_GATEWAY: 'ftp://x' }, {})).toThrow('SHOP_GATEWAY: "ftp://x" must start with http:// or https://');
  });
});

describe('the settings file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shop-settings-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('is no settings while it does not exist, and is created with its folder on the first save', async () => {
    const file = join(dir, 'new', 'shop', 'settings.json');
    const warnings: string[] = [];
    const store = settingsStore(file, (w) => warnings.push(w));
    expect(await store.load()).toEqual({});
    await store.save({ port: 8123 });
    await store.save({ gateway: 'http://shop.example:8005' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ port: 8123, gateway: 'http://shop.example:8005' });
    expect(await settingsStore(file, () => undefined).load()).toEqual({ port: 8123, gateway: 'http://shop.example:8005' });
    expect(warnings).toEqual([]);
  });

  it('keeps the good values of a hand-edited file and says which it ignored', async () => {
    const file = join(dir, 'edited.json');
    await writeFile(file, JSON.stringify({ gateway: 'shop.example:8005', port: 'eighty', colour: 'blue' }));
    const warnings: string[] = [];
    expect(await settingsStore(file, (w) => warnings.push(w)).load()).toEqual({ gateway: 'http://shop.example:8005' });
    expect(warnings).toEqual([`The settings file ${file}: port: "eighty" is not a port number; ignored`]);
  });

  it('says when the file is not JSON, and goes on with the defaults', async () => {
    const file = join(dir, 'broken.json');
    await writeFile(file, '{"gateway": ');
    const warnings: string[] = [];
    const store = settingsStore(file, (w) => warnings.push(w));
    expect(await store.load()).toEqual({});
    expect(warnings).toEqual([`The settings file ${file} is not valid JSON; using the defaults (saving a new address replaces it)`]);
    await store.save({ gateway: 'http://127.0.0.1:8005' });
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ gateway: 'http://127.0.0.1:8005' });
  });

  it('says when a value is of the wrong kind or the file holds no object', async () => {
    const file = join(dir, 'odd.json');
    await writeFile(file, JSON.stringify({ gateway: 8005 }));
    const warnings: string[] = [];
    expect(await settingsStore(file, (w) => warnings.push(w)).load()).toEqual({});
    await writeFile(file, '[]');
    expect(await settingsStore(file, (w) => warnings.push(w)).load()).toEqual({});
    expect(warnings).toEqual([`The settings file ${file}: gateway: "gateway" must be a string; ignored`, `The settings file ${file}: it does not hold a JSON object; ignored`]);
  });
});
