// openapi.yaml is written by hand: these checks keep it a valid document that describes exactly the
// routes serverless.yml deploys, with the errors every handler can answer.
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ParameterObject, ResponseObject } from 'openapi3-ts/oas31';
import { describe, expect, it } from 'vitest';
import { operations, resolve, spec } from '../functions/lib/contract.js';
import { healthRoute, readyRoute } from '../infra/health.js';
import { manifest, streams } from '../infra/manifest.js';

const functionRoutes = manifest.flatMap((fn) => fn.http.map((route) => ({ method: route.method, path: route.path, operationId: fn.name })));
// Routes the runner answers itself: the gateway's stream (no function can hold one open) and every
// service's health and readiness.
const hostRoutes = [...streams, healthRoute, readyRoute].map(({ method, path, name }) => ({ method, path, operationId: name }));
const routes = [...functionRoutes, ...hostRoutes];

function refsIn(node: unknown): string[] {
  if (Array.isArray(node)) return node.flatMap(refsIn);
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => (key === '$ref' && typeof value === 'string' ? [value] : refsIn(value)));
}

/** Every Schema Object that is not itself inside a schema, with where it is. */
function schemasIn(node: unknown, at: string): [string, unknown][] {
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) =>
    key === 'schema' || at === '/components/schemas' ? [[`${at}/${key}`, value] as [string, unknown]] : schemasIn(value, `${at}/${key}`),
  );
}

describe('openapi.yaml', () => {
  it('is a valid OpenAPI 3.1 document', async () => {
    const validator = new Validator();
    const result = await validator.validate({ ...structuredClone(spec) });
    expect(result).toEqual({ valid: true });
    expect(validator.version).toBe('3.1');
    expect(spec.openapi).toBe('3.1.0');
  });

  it('writes every schema as valid JSON Schema 2020-12', () => {
    const ajv = new Ajv2020({ strict: false });
    const schemas = schemasIn(spec, '');
    expect(schemas.length).toBeGreaterThan(0);
    const invalid = schemas.filter(([, schema]) => !ajv.validateSchema(schema as object)).map(([at]) => `${at}: ${ajv.errorsText()}`);
    expect(invalid).toEqual([]);
  });

  it('has no $ref that points at nothing', () => {
    const broken = refsIn(spec).filter((ref) => resolve({ $ref: ref }) === undefined);
    expect(broken).toEqual([]);
  });
});

describe('openapi.yaml and serverless.yml', () => {
  it('has every route of serverless.yml (and of the gateway host) as an operation named after its function', () => {
    expect(routes.length).toBeGreaterThan(0);
    const missing = routes.filter((r) => !operations.some((o) => o.method === r.method && o.path === r.path && o.operationId === r.operationId));
    expect(missing).toEqual([]);
  });

  it('has no operation that serverless.yml (or the gateway host) does not route to the function of that name', () => {
    const unrouted = operations
      .filter((o) => !routes.some((r) => r.method === o.method && r.path === o.path && r.operationId === o.operationId))
      .map(({ method, path, operationId }) => ({ method, path, operationId }));
    expect(unrouted).toEqual([]);
  });
});

describe('request bodies', () => {
  it('documents 400, 413 and 415 for every operation with a request body', () => {
    const withBody = operations.filter((o) => o.operation.requestBody !== undefined);
    expect(withBody.length).toBeGreaterThan(0);
    const undocumented = withBody.flatMap((o) => ['400', '413', '415'].filter((status) => !(status in (o.operation.responses ?? {}))).map((status) => `${o.operationId} ${status}`));
    expect(undocumented).toEqual([]);
  });
});

describe.each(operations)('$method $path ($operationId)', ({ path, item, operation }) => {
  it('declares exactly the parameters of its path template as path parameters', () => {
    const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    const declared = [...(item.parameters ?? []), ...(operation.parameters ?? [])]
      .map((p) => resolve<ParameterObject>(p))
      .filter((p) => p?.in === 'path')
      .map((p) => p!.name)
      .sort();
    expect(declared).toEqual(inTemplate);
  });

  it('documents its error responses as application/problem+json with the Problem schema', () => {
    const errors = Object.entries(operation.responses ?? {}).filter(([status]) => /^[45]/.test(status) || status === 'default');
    for (const [status, response] of errors) {
      const content = resolve<ResponseObject>(response)?.content ?? {};
      expect(Object.keys(content), status).toEqual(['application/problem+json']);
      expect(content['application/problem+json']?.schema, status).toEqual({ $ref: '#/components/schemas/Problem' });
    }
  });
});
