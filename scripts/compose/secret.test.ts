// The search for the CA secret in a saved image must find it wherever a layer could hold it: as
// the bundle file, as PEM text in another file, as DER, in a gzipped layer or in the image's JSON.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { rootCertificates } from 'node:tls';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { caBundlePath, distinctiveCertificates, pemCertificates, tarEntries, tracesIn } from './secret.js';

// A self-signed CA made for this test only (openssl req -x509, P-256).
const testCa = `-----BEGIN CERTIFICATE-----
MIIBnDCCAUGgAwIBAgIUGtkGt8Rm1yK1RYnUb7w6KzQixVAwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXU2hvcCB0ZXN0IHJlLXNpZ25pbmcgQ0EwIBcNMjYxMjAxMjIw
NzQ3WhgPMjEyNjExMDcyMjA3NDdaMCIxIDAeBgNVBAMMF1Nob3AgdGVzdCByZS1z
aWduaW5nIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEShbavCusLffRMJUF
qBbckxkMMtuKLuYUm7FhnFkbvDYgKxjrFtV0nO4sNBqoVH0XHUmmAEf4TlwF9yu3
6FyvRqNTMFEwHQYDVR0OBBYEFAvdcW7BXnleen8HaVFKZECryWqkMB8GA1UdIwQY
MBaAFAvdcW7BXnleen8HaVFKZECryWqkMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZI
zj0EAwIDSQAwRgIhAOnQc23qzVEakGSsO3n/W+K3g+Pg9wAGJOo69Pg5WVhYAiEA
sSpzZG/0HlWh9G7fQP24AlW6B2yRSoUoIsK2P1nPNpk=
-----END CERTIFICATE-----
`;
const bundle = `${rootCertificates[0]}\n${testCa}`;
const [certificate] = pemCertificates(testCa);

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A tar archive of the given files, made by tar itself. */
function tarOf(files: Record<string, string | Buffer>): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'shop-secret-'));
  dirs.push(dir);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  const made = spawnSync('tar', ['-C', dir, '-cf', '-', ...Object.keys(files)], { maxBuffer: 64 * 1024 * 1024 });
  expect(made.status, made.stderr?.toString()).toBe(0);
  return made.stdout;
}

/** A saved image as docker-archive lays it out: layer tars and JSON. */
const savedImage = (layers: Record<string, Buffer>, json = '{"config": "x"}') =>
  tarOf({ 'manifest.json': json, ...Object.fromEntries(Object.entries(layers).map(([name, layer]) => [`${name}/layer.tar`, layer])) });

describe('the CA bundle', () => {
  it('is NODE_EXTRA_CA_CERTS where that names a file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'shop-secret-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'ca.pem'), testCa);
    expect(caBundlePath({ NODE_EXTRA_CA_CERTS: join(dir, 'ca.pem') })).toBe(join(dir, 'ca.pem'));
    expect(caBundlePath({ NODE_EXTRA_CA_CERTS: join(dir, 'missing.pem') })).not.toBe(join(dir, 'missing.pem'));
  });

  it("is searched for by the certificates Node does not already trust", () => {
    expect(certificate!.subject).toBe('CN=Shop test re-signing CA');
    expect(pemCertificates(bundle)).toHaveLength(2);
    expect(distinctiveCertificates(bundle).map((c) => c.subject)).toEqual(['CN=Shop test re-signing CA']);
  });
});

describe('tracesIn', () => {
  const clean = tarOf({ 'etc/os-release': 'ID=debian\n', 'app/dist/runner.mjs': 'console.log(1)\n' });

  it('finds nothing in layers without the secret, and counts the layers', () => {
    expect(tracesIn(savedImage({ a: clean, b: gzipSync(clean) }), Buffer.from(bundle), [certificate!])).toEqual({ layers: 2, traces: [] });
  });

  it('finds the bundle copied into a layer, by its content and by its certificate', () => {
    const { traces } = tracesIn(savedImage({ a: clean, b: tarOf({ 'run/secrets/ca': bundle }) }), Buffer.from(bundle), [certificate!]);
    expect(traces).toEqual(
      expect.arrayContaining([
        { layer: 'b/layer.tar', file: 'run/secrets/ca', what: 'the bundle itself' },
        { layer: 'b/layer.tar', file: 'run/secrets/ca', what: 'certificate CN=Shop test re-signing CA (PEM)' },
      ]),
    );
  });

  it('finds the certificate as PEM inside another file, as DER, in a gzipped layer and in the JSON', () => {
    const pem = tarOf({ 'root/.npmrc': `cafile=x\n${testCa}` });
    const der = gzipSync(tarOf({ 'usr/share/ca.der': certificate!.der }));
    const { traces } = tracesIn(savedImage({ pem, der }, JSON.stringify({ history: [testCa] })), Buffer.from(bundle), [certificate!]);
    expect(traces.map((t) => `${t.layer} ${t.file ?? ''} ${t.what.split(' ').at(-1)}`).sort()).toEqual([
      'der/layer.tar usr/share/ca.der (DER)',
      'manifest.json  (PEM)',
      'pem/layer.tar root/.npmrc (PEM)',
    ]);
  });

  it('reads long file names', () => {
    const long = `${'a'.repeat(120)}/${'b'.repeat(80)}.txt`;
    expect([...tarEntries(tarOf({ [long]: 'x' }))].map((e) => e.name)).toEqual([long]);
  });
});
