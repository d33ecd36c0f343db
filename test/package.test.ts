// `serverless package`, as a user runs it before a deploy, without AWS credentials or a network:
// one artifact per function holding only that function's bundle, each loading on its own, and a
// CloudFormation template that wires the same routes, schedules and queues as the runner.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '../functions/lib/topology.js';
import { manifest, parseRate } from '../infra/manifest.js';
import { databaseUrl, dropDatabase, uniqueName } from './support/db.js';
import { root, serverlessBin, serverlessEnv } from './support/serverless.js';

const run = promisify(execFile);
const brokerArn = 'arn:aws:mq:eu-west-1:123456789012:broker:shop-prod:b-11111111-2222-3333-4444-555555555555';
const database = uniqueName('package');

let out: string;
let unpacked: string;
let resources: Record<string, { Type: string; Properties: Record<string, any> }>; // eslint-disable-line -- CloudFormation is untyped JSON
let handlers: Record<string, string>;

const handlerOf = (name: string) => handlers[name]!;
const bundleOf = (name: string) => `${handlerOf(name).slice(0, handlerOf(name).lastIndexOf('.'))}.mjs`;
const resourcesOf = (type: string) => Object.values(resources).filter((r) => r.Type === type);

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'shop-package-'));
  unpacked = await mkdtemp(join(tmpdir(), 'shop-artifacts-'));
  // A home without ~/.aws, and a proxy that answers nothing: any credential lookup or download fails.
  const home = await mkdtemp(join(tmpdir(), 'shop-home-'));
  const noNetwork = { HTTP_PROXY: 'http://127.0.0.1:9', HTTPS_PROXY: 'http://127.0.0.1:9', NO_PROXY: '' };
  await run(process.execPath, [serverlessBin, 'package', '--package', out, '--param', `mqBrokerArn=${brokerArn}`], {
    cwd: root,
    env: serverlessEnv({ HOME: home, ...noNetwork }),
    timeout: 120_000,
  }).catch((error: Error & { stdout?: string; stderr?: string }) => {
    throw new Error(`serverless package failed:\n${error.stdout}\n${error.stderr}`);
  });
  await rm(home, { recursive: true, force: true });
  const template = JSON.parse(await readFile(join(out, 'cloudformation-template-update-stack.json'), 'utf8'));
  resources = template.Resources;
  const state = JSON.parse(await readFile(join(out, 'serverless-state.json'), 'utf8'));
  handlers = Object.fromEntries(Object.entries(state.service.functions as Record<string, { handler: string }>).map(([n, f]) => [n, f.handler]));
}, 150_000);

afterAll(async () => {
  await Promise.all([rm(out, { recursive: true, force: true }), rm(unpacked, { recursive: true, force: true }), dropDatabase(database)]);
});

describe('serverless package', () => {
  it('yields one artifact per function, holding its bundle and the chunks it imports, nothing else', async () => {
    const zips = (await readdir(out)).filter((f) => f.endsWith('.zip')).sort();
    expect(zips).toEqual(manifest.map((fn) => `${fn.name}.zip`).sort());
    const artifacts = JSON.parse(await readFile(join(root, 'dist/artifacts.json'), 'utf8')) as Record<string, string[]>;
    const sizes: Record<string, string> = {};
    for (const fn of manifest) {
      const zip = join(out, `${fn.name}.zip`);
      const files = (await run('unzip', ['-Z1', zip])).stdout.trim().split('\n').sort();
      expect(bundleOf(fn.name)).toBe(`dist/${fn.module}.mjs`);
      expect(files, fn.name).toContain(bundleOf(fn.name));
      expect(files.filter((f) => f !== bundleOf(fn.name)).every((f) => f.startsWith('dist/chunks/')), fn.name).toBe(true);
      expect(files, fn.name).toEqual(artifacts[fn.name]);
      const unzipped = (await Promise.all(files.map((f) => stat(join(root, f))))).reduce((sum, s) => sum + s.size, 0);
      sizes[fn.name] = `${((await stat(zip)).size / 1024).toFixed(0)} KiB zipped, ${(unzipped / 1024).toFixed(0)} KiB unzipped`;
    }
    console.log(`artifact sizes:\n${Object.entries(sizes).map(([n, s]) => `  ${n.padEnd(20)} ${s}`).join('\n')}`);
  });

  it('each artifact loads alone, without node_modules, and its functions answer', async () => {
    for (const fn of manifest) await run('unzip', ['-q', '-o', join(out, `${fn.name}.zip`), '-d', join(unpacked, fn.name)]);
    // One process loads every artifact from its own folder, as Lambda would, and calls a few of them.
    const script = join(unpacked, 'load.mjs');
    await writeFile(
      script,
      `const functions = ${JSON.stringify(manifest.map((fn) => ({ name: fn.name, file: join(unpacked, fn.name, bundleOf(fn.name)), exportName: fn.exportName })))};
      const loaded = {};
      for (const fn of functions) loaded[fn.name] = (await import(fn.file))[fn.exportName];
      const context = { getRemainingTimeInMillis: () => 15000, functionName: 'test', awsRequestId: 'test' };
      const get = (routeKey, rawPath, pathParameters) => ({ version: '2.0', routeKey, rawPath, rawQueryString: '', headers: {}, pathParameters, requestContext: { http: { method: 'GET', path: rawPath } }, isBase64Encoded: false });
      const results = {
        types: Object.fromEntries(Object.entries(loaded).map(([name, handler]) => [name, typeof handler])),
        migrated: await loaded.migratePayments({}, context),
        wallet: await loaded.getWallet(get('GET /api/wallet/{user_id}', '/api/wallet/7', { user_id: '7' }), context),
        openapi: await loaded.openapi(get('GET /openapi.yaml', '/openapi.yaml'), context),
      };
      console.log(JSON.stringify(results));
      process.exit(0);`,
    );
    const { stdout } = await run(process.execPath, [script], {
      cwd: unpacked,
      env: { PATH: process.env.PATH ?? '', PAYMENTS_DATABASE_URL: databaseUrl(database), LOG_LEVEL: 'error' },
    });
    const results = JSON.parse(stdout.trim().split('\n').at(-1)!);
    expect(results.types).toEqual(Object.fromEntries(manifest.map((fn) => [fn.name, 'function'])));
    expect(results.migrated.applied.length).toBeGreaterThan(0);
    expect(results.wallet).toMatchObject({ statusCode: 404, headers: { 'content-type': 'application/problem+json' } });
    expect(results.openapi.statusCode).toBe(200);
    expect(results.openapi.body).toMatch(/^openapi: 3\.1\.0/);
  });

  it('deploys each function with its handler, Node 20 and only its own service database', () => {
    const lambdas = resourcesOf('AWS::Lambda::Function');
    expect(lambdas).toHaveLength(manifest.length);
    for (const fn of manifest) {
      const lambda = lambdas.find((l) => l.Properties.FunctionName === `shop-dev-${fn.name}`)!;
      expect(lambda.Properties, fn.name).toMatchObject({ Handler: handlerOf(fn.name), Runtime: 'nodejs20.x' });
      const variables = Object.keys(lambda.Properties.Environment.Variables);
      const databases = variables.filter((v) => v.endsWith('DATABASE_URL'));
      expect(databases, fn.name).toEqual(fn.service === 'gateway' ? [] : [`${fn.service.toUpperCase()}_DATABASE_URL`]);
      expect(variables, fn.name).toEqual(expect.arrayContaining(['AMQP_URL', 'AMQP_NAMESPACE']));
    }
  });

  it('routes every HTTP event of the manifest through API Gateway, on the same paths', () => {
    const routes = resourcesOf('AWS::ApiGatewayV2::Route').map((r) => r.Properties.RouteKey).sort();
    expect(routes).toEqual(manifest.flatMap((fn) => fn.http.map((r) => `${r.method} ${r.path}`)).sort());
  });

  it('schedules the relays and feeds the consumers from the queues the relays publish to', () => {
    const rules = resourcesOf('AWS::Events::Rule').map((r) => parseRate(r.Properties.ScheduleExpression)).sort();
    expect(rules).toEqual(manifest.flatMap((fn) => fn.schedules).sort());

    const mappings = resourcesOf('AWS::Lambda::EventSourceMapping');
    const consumers = manifest.filter((fn) => fn.queues.length);
    expect(mappings).toHaveLength(consumers.length);
    for (const fn of consumers) {
      const mapping = mappings.find((m) => m.Properties.FunctionName['Fn::GetAtt'][0] === `${fn.name[0]!.toUpperCase()}${fn.name.slice(1)}LambdaFunction`)!;
      expect(mapping.Properties, fn.name).toMatchObject({
        EventSourceArn: brokerArn,
        Queues: [names('shop').queue(fn.queues[0]!.queue)],
        BatchSize: fn.queues[0]!.batchSize,
        SourceAccessConfigurations: [{ Type: 'BASIC_AUTH', URI: expect.stringMatching(/^arn:aws:secretsmanager:/) }],
      });
    }
    const policy = JSON.stringify(resources.IamRoleLambdaExecution!.Properties);
    expect(policy).toContain('mq:DescribeBroker');
    expect(policy).toContain('secretsmanager:GetSecretValue');
  });
});
