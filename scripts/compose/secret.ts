// The CA bundle that the image build gets as its secret "ca": which bundle, whether this network
// needs it, and proof that it left no trace: no layer of a built image holds any of its
// certificates that Node does not already trust, nor the bundle itself, and no container of the
// image finds it at /run/secrets/ca. A build without it, where the network needs it, must fail.
import { spawnSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { gunzipSync } from 'node:zlib';
import type { Engine } from './engine.js';

/** The bundle to pass: NODE_EXTRA_CA_CERTS where it is set, else the system's (Debian's path). */
export function caBundlePath(env: Record<string, string | undefined> = process.env): string | undefined {
  return [env.NODE_EXTRA_CA_CERTS, '/etc/ssl/certs/ca-certificates.crt'].find((p): p is string => !!p && existsSync(p));
}

interface Certificate {
  /** The first line of the PEM body, as a verbatim copy of the file would hold it */
  pemLine: string;
  der: Buffer;
  subject: string;
}

export function pemCertificates(text: string): Certificate[] {
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----\s*([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => {
    const body = m[1]!.trim();
    const der = Buffer.from(body.replace(/\s+/g, ''), 'base64');
    let subject = '';
    try {
      subject = new X509Certificate(der).subject.replace(/\n/g, ', ');
    } catch {
      subject = '(unparsable certificate)';
    }
    return { pemLine: body.split(/\r?\n/)[0]!.trim(), der, subject };
  });
}

/** The bundle's certificates that Node's own store lacks: what makes this bundle worth hiding. */
export function distinctiveCertificates(bundle: string): Certificate[] {
  const known = new Set(rootCertificates.flatMap((pem) => pemCertificates(pem).map((c) => c.der.toString('base64'))));
  return pemCertificates(bundle).filter((c) => !known.has(c.der.toString('base64')));
}

interface TarEntry { name: string; data: Buffer }

/** The files of a tar archive (ustar, GNU long names and pax headers), without copying them. */
export function* tarEntries(archive: Buffer): Generator<TarEntry> {
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= archive.length) {
    const header = archive.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const text = (start: number, length: number) => header.toString('latin1', start, start + length).replace(/\0.*$/s, '');
    const size = parseInt(text(124, 12).trim() || '0', 8);
    const type = text(156, 1);
    const prefix = text(345, 155);
    const name = longName ?? (prefix ? `${prefix}/${text(0, 100)}` : text(0, 100));
    const data = archive.subarray(offset + 512, offset + 512 + size);
    longName = undefined;
    if (type === 'L') longName = data.toString('utf8').replace(/\0.*$/s, '');
    else if (type === 'x') longName = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
    else if (type === '0' || type === '' || type === '7') yield { name, data };
    offset += 512 + Math.ceil(size / 512) * 512;
  }
}

const isTar = (data: Buffer) => data.length >= 262 && data.toString('latin1', 257, 262) === 'ustar';
const isGzip = (data: Buffer) => data.length > 2 && data[0] === 0x1f && data[1] === 0x8b;

interface Trace { layer: string; file?: string; what: string }

/**
 * Where a saved image (`docker save` / `podman save`: a tar of layer tars, plain or gzipped, and
 * JSON) holds the bundle or one of the given certificates, as PEM text or DER.
 */
export function tracesIn(archive: Buffer, bundle: Buffer, certificates: readonly Certificate[]): { layers: number; traces: Trace[] } {
  const bundleHash = createHash('sha256').update(bundle).digest('hex');
  const needles = certificates.flatMap((c) => [
    { what: `certificate ${c.subject} (PEM)`, bytes: Buffer.from(c.pemLine) },
    { what: `certificate ${c.subject} (DER)`, bytes: c.der },
  ]);
  const traces: Trace[] = [];
  let layers = 0;
  const search = (layer: string, data: Buffer, file?: string) => {
    for (const needle of needles) if (data.includes(needle.bytes)) traces.push({ layer, file, what: needle.what });
    if (data.length === bundle.length && createHash('sha256').update(data).digest('hex') === bundleHash) traces.push({ layer, file, what: 'the bundle itself' });
  };
  for (const entry of tarEntries(archive)) {
    const data = isGzip(entry.data) ? gunzipSync(entry.data) : entry.data;
    if (isTar(data)) {
      layers += 1;
      for (const file of tarEntries(data)) search(entry.name, file.data, file.name);
    } else {
      search(entry.name, data);
    }
  }
  return { layers, traces };
}

interface SecretProof {
  image: string;
  layers: number;
  traces: Trace[];
  /** Whether a container of the image sees /run/secrets/ca */
  mounted: boolean;
}

export async function proveAbsent(engine: Engine, image: string, workDir: string, bundlePath: string): Promise<SecretProof> {
  const file = join(workDir, `${image.replace(/[^\w.-]+/g, '_')}.tar`);
  await engine.cli(['save', ...(engine.kind === 'podman' ? ['--format', 'docker-archive'] : []), '-o', file, image], { timeoutMs: 10 * 60_000 });
  try {
    const bundle = readFileSync(bundlePath);
    const { layers, traces } = tracesIn(readFileSync(file), bundle, distinctiveCertificates(bundle.toString()));
    const looked = await engine.tryCli(['run', '--rm', '--network', 'none', '--entrypoint', 'sh', image, '-c', 'test -e /run/secrets/ca']);
    return { image, layers, traces, mounted: looked.code === 0 };
  } finally {
    rmSync(file, { force: true });
  }
}

/** Whether this network re-signs TLS to the npm registry: Node, with only its own CAs, refuses it. */
export function registryNeedsCa(): 'needed' | 'not needed' | 'unknown' {
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const probe = spawnSync(
    process.execPath,
    ['-e', "fetch('https://registry.npmjs.org/', { signal: AbortSignal.timeout(10000) }).then(() => console.log('ok'), (e) => console.log(e.cause?.code ?? e.name))"],
    { env, encoding: 'utf8' },
  );
  const answer = probe.stdout.trim();
  if (answer === 'ok') return 'not needed';
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(answer) ? 'needed' : 'unknown';
}

export interface UnsecretBuild { failed: boolean; seconds: number; why: string }

/**
 * The Dockerfile's install step, without the secret, from a context of just the package files (it
 * fails before it needs more): it must fail, not leave a half-installed node_modules behind.
 */
export async function buildWithoutSecret(engine: Engine, options: { root: string; dockerfile: string; workDir: string; signal?: AbortSignal }): Promise<UnsecretBuild> {
  const context = join(options.workDir, 'without-secret');
  mkdirSync(context, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) copyFileSync(join(options.root, f), join(context, f));
  const started = Date.now();
  // Nothing of it may be cached (a cached install step would hide the failure) or kept.
  const fresh = engine.kind === 'podman' ? ['--layers=false', '--no-cache'] : ['--no-cache'];
  const ran = await engine.tryCli(['build', ...engine.buildOptions, ...fresh, '-f', options.dockerfile, '--target', 'build', context], {
    env: { DOCKER_BUILDKIT: '1' },
    timeoutMs: 10 * 60_000,
    signal: options.signal,
  });
  // The install step's own words (the build echoes its command lines too: those start with STEP or RUN).
  const said = `${ran.stdout}\n${ran.stderr}`.split('\n').filter((l) => !/^(\[.*\] )?(STEP|RUN|#\d+ \[)/.test(l.trim()));
  const why = said.find((l) => l.includes('did not install everything')) ?? said.find((l) => /npm error (code|Exit handler)/.test(l)) ?? said.filter((l) => l.trim()).at(-1) ?? '';
  return { failed: ran.code !== 0, seconds: Math.round((Date.now() - started) / 1000), why: why.trim() };
}
