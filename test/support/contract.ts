// Checks a real response against openapi.yaml, so that a handler cannot drift from the contract
// without a test noticing: the status and media type must be documented and the body must match.
import type { ErrorObject } from 'ajv/dist/2020.js';
import type { ReferenceObject, ResponseObject } from 'openapi3-ts/oas31';
import { at, operation, pointer, validatorAt, type OperationId } from '../../functions/lib/contract.js';

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

function expectValid(schemaAt: string, value: unknown, what: string, noun = 'value'): void {
  const validate = validatorAt(schemaAt);
  if (!validate(value)) throw new Error(`${what}: the ${noun} does not match openapi.yaml:\n${listErrors(validate.errors ?? [])}\n${noun}: ${excerpt(value)}`);
}

/**
 * Throws unless openapi.yaml documents this response of the operation: the status (exact, then
 * `4XX`-style range, then `default`), the media type of `contentType`, and a body that matches the
 * schema. `body` is the parsed JSON for JSON media types and the text otherwise.
 */
export function expectResponseMatchesSpec(operationId: OperationId, status: number, contentType: string | undefined, body: unknown): void {
  const { pointer: location, operation: op } = operation(operationId);
  const what = `${operationId} ${status}`;
  const responses = op.responses ?? {};
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
  expectValid(responseAt + pointer('content', range, 'schema'), body, `${what} ${range}`, 'body');
}

/** Throws unless `value` matches the schema `#/components/schemas/<name>` (a message that is not a response body). */
export function expectMatchesSchema(name: string, value: unknown): void {
  const schemaAt = pointer('components', 'schemas', name);
  if (at(schemaAt) === undefined) throw new Error(`openapi.yaml has no schema ${name}`);
  expectValid(schemaAt, value, name);
}
