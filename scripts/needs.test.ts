// The check before a test command: run as a user who cannot install anything, on a PATH without the
// programs, it must stop before any test with the packages to install; with them present it is silent.
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './lib/freePort.js';
import { commands, isInstalled, programs } from './needs.mjs';

const script = fileURLToPath(new URL('./needs.mjs', import.meta.url));
let bare: string;

beforeAll(async () => {
  // A PATH holding only node: every program looked up by name is missing there.
  bare = await mkdtemp(join(tmpdir(), 'shop-needs-'));
  await symlink(process.execPath, join(bare, 'node'));
});

afterAll(() => rm(bare, { recursive: true, force: true }));

function runAsNobody(args: string[], env: Record<string, string> = {}) {
  return spawnSync('/usr/bin/setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', join(bare, 'node'), script, ...args], {
    env: { PATH: bare, ...env },
    encoding: 'utf8',
  });
}

describe('scripts/needs.mjs', () => {
  it('finds a program by its path or on PATH', () => {
    expect(isInstalled({ path: process.execPath })).toBe(true);
    expect(isInstalled({ path: '/nonexistent/chromium' })).toBe(false);
    expect(isInstalled({ command: 'node' })).toBe(true);
    expect(isInstalled({ command: 'no-such-program-here' })).toBe(false);
  });

  it('names a Debian package for every program a command needs', () => {
    for (const [command, wanted] of Object.entries(commands)) {
      const needed = [...wanted.programs, ...('withoutDockerEngine' in wanted ? wanted.withoutDockerEngine : [])];
      for (const name of needed) expect(programs[name as keyof typeof programs]?.package, `${command}: ${name}`).toMatch(/^[a-z0-9.+-]+$/);
    }
  });

  it('stops before any test, naming each missing package and the command that installs it, where it cannot install', () => {
    const result = runAsNobody(['test']);
    expect(result.status).toBe(1);
    const byName = commands.test.programs.filter((name) => 'command' in programs[name as keyof typeof programs]);
    for (const name of byName) expect(result.stderr).toContain(`${name} is missing (Debian package`);
    expect(result.stderr).toMatch(/install with: sudo apt-get install -y --no-install-recommends [a-z -]*unzip/);
  });

  it('asks for podman and what it runs with where no Docker engine answers, for the container run', () => {
    const result = runAsNobody(['test:compose']);
    expect(result.status).toBe(1);
    const wanted = commands['test:compose'];
    const byName = [...wanted.programs, ...wanted.withoutDockerEngine].filter((name) => 'command' in programs[name as keyof typeof programs]);
    expect(byName).toContain('podman');
    for (const name of byName) expect(result.stderr).toContain(`${name} is missing (Debian package ${programs[name as keyof typeof programs].package})`);
    expect(result.stderr).not.toContain('is not reachable');
  });

  it('says which server it cannot reach', async () => {
    const closed = await freePort();
    const result = runAsNobody(['test'], { TEST_POSTGRES_URL: `postgres://postgres@127.0.0.1:${closed}` });
    expect(result.stderr).toContain(`PostgreSQL is not reachable at 127.0.0.1:${closed}`);
    expect(result.stderr).not.toContain('RabbitMQ is not reachable');
  });

  it('passes silently when everything is there', () => {
    const result = spawnSync(process.execPath, [script, 'test'], { encoding: 'utf8' });
    expect({ status: result.status, stdout: result.stdout, stderr: result.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
  });

  it('answers a wrong command with its usage and exit code 2', () => {
    const result = spawnSync(process.execPath, [script, 'nonsense'], { encoding: 'utf8' });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: node scripts/needs.mjs <');
  });
});
