// Checks a real response against openapi.yaml, so that a handler cannot drift from the contract
// without a test noticing: the status and media type must be documented and the body must match.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { OpenAPIObject, OperationObject, PathItemObject, ReferenceObject, ResponseObject } from 'openapi3-ts/oas31';
import { parse } from 'yaml';
import specText from '../../openapi.yaml?raw';

const spec = parse(specText) as OpenAPIObject;
const specId = 'https://shop.invalid/openapi.yaml';
const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

// strict: false because the document is not a JSON Schema; ajv only needs to reach into it by pointer.
const ajv = new Ajv2020({ allErrors: true, strict: false });
// ajv-formats is CommonJS; its plugin is both module.exports and module.exports.default.
addFormats.default(ajv);
ajv.addSchema(spec, specId);
const validators = new Map<string, ValidateFunction>();

function pointer(...tokens: string[]): string {
  return tokens.map((t) => `/${encodeURIComponent(t.replaceAll('~', '~0').replaceAll('/', '~1'))}`).join('');
}

function at(jsonPointer: string): unknown {
  return jsonPointer
    .split('/')
    .slice(1)
    .map((t) => decodeURIComponent(t).replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], spec);
}

function findOperation(operationId: string): { location: string; operation: OperationObject } {
  for (const [path, item] of Object.entries(spec.paths ?? {}) as [string, PathItemObject][]) {
    for (const method of methods) {
      const operation = item[method];
      if (operation?.operationId === operationId) return { location: pointer('paths', path, method), operation };
    }
  }
  throw new Error(`openapi.yaml has no operation ${operationId}`);
}

/** The media range documented for a content type: exact, then `type/*`, then `*\/*`. */
function documentedMediaRange(documented: string[], contentType: string): string | undefined {
  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  const [type] = mediaType.split('/');
  return [mediaType, `${type}/*`, '*/*'].map((range) => documented.find((d) => d.toLowerCase() === range)).find(Boolean);
}

function listErrors(errors: ErrorObject[]): string {
  return errors.map((e) => `  body${e.instancePath} ${e.message ?? 'is invalid'} ${JSON.stringify(e.params)}`).join('\n');
}

function excerpt(body: unknown): string {
  const text = JSON.stringify(body) ?? String(body);
  return text.length > 500 ? `${text.slice(0, 500)}...` : text;
}

/**
 * Throws unless openapi.yaml documents this response of the operation: the status (exact, then
 * `4XX`-style range, then `default`), the media type of `contentType`, and a body that matches the
 * schema. `body` is the parsed JSON for JSON media types and the text otherwise.
 */
export function expectResponseMatchesSpec(operationId: string, status: number, contentType: string | undefined, body: unknown): void {
  const { location, operation } = findOperation(operationId);
  const what = `${operationId} ${status}`;
  const responses = operation.responses ?? {};
  const key = [String(status), `${Math.floor(status / 100)}XX`, 'default'].find((k) => k in responses);
  if (!key) throw new Error(`${what}: openapi.yaml documents no such response (it has ${Object.keys(responses).join(', ')})`);

  let responseAt = location + pointer('responses', key);
  let response = at(responseAt) as ResponseObject | ReferenceObject;
  while ('$ref' in response) {
    responseAt = response.$ref.replace(/^#/, '');
    response = at(responseAt) as ResponseObject | ReferenceObject;
    if (response === undefined) throw new Error(`${what}: openapi.yaml has a broken $ref to #${responseAt}`);
  }

  const documented = Object.keys(response.content ?? {});
  if (documented.length === 0) {
    if (body === undefined || body === '') return;
    throw new Error(`${what}: openapi.yaml documents no body, but the response has one`);
  }
  if (contentType === undefined) throw new Error(`${what}: the response has no content-type; openapi.yaml documents ${documented.join(', ')}`);
  const range = documentedMediaRange(documented, contentType);
  if (!range) throw new Error(`${what}: content-type ${contentType} is not documented; openapi.yaml documents ${documented.join(', ')}`);
  if (!response.content![range]!.schema) return;

  const schemaAt = responseAt + pointer('content', range, 'schema');
  let validate = validators.get(schemaAt);
  if (!validate) {
    validate = ajv.compile({ $ref: `${specId}#${schemaAt}` });
    validators.set(schemaAt, validate);
  }
  if (!validate(body)) {
    throw new Error(`${what} ${range}: the body does not match openapi.yaml:\n${listErrors(validate.errors ?? [])}\nbody: ${excerpt(body)}`);
  }
}

/** Throws unless `value` matches the schema `#/components/schemas/<name>` (a message that is not a response body). */
export function expectMatchesSchema(name: string, value: unknown): void {
  const schemaAt = pointer('components', 'schemas', name);
  if (at(schemaAt) === undefined) throw new Error(`openapi.yaml has no schema ${name}`);
  let validate = validators.get(schemaAt);
  if (!validate) {
    validate = ajv.compile({ $ref: `${specId}#${schemaAt}` });
    validators.set(schemaAt, validate);
  }
  if (!validate(value)) throw new Error(`${name}: the value does not match openapi.yaml:\n${listErrors(validate.errors ?? [])}\nvalue: ${excerpt(value)}`);
}
