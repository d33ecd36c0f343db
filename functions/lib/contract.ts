// openapi.yaml is the one source of truth for the API. This module holds the document (compiled at
// build time by infra/generate.mjs), its operations, one ajv that validates with its schemas (no
// coercion, exact decimals), and each operation's request validator with the types of what it lets
// through. The handlers, the contract tests, the spec test and the chaos run's bad input read it here.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OperationObject, ParameterObject, PathItemObject, ReferenceObject, SchemaObject } from 'openapi3-ts/oas31';
import { hasAtMostDecimals } from './money.js';
import { document, type operations as Operations } from './openapi.gen.js';
import { validationProblem, type FieldError } from './problem.js';

export const spec = document;

export type OperationId = keyof Operations;

type Or<T, Otherwise> = [T] extends [never] ? Otherwise : T;
type None = Record<string, never>;
/** What an operation's request carries once validated: its path and query parameters, and its body. */
export interface ValidRequest<Id extends OperationId> {
  path: Or<NonNullable<Operations[Id]['parameters']['path']>, None>;
  query: Or<NonNullable<Operations[Id]['parameters']['query']>, None>;
  body: Operations[Id] extends { requestBody: { content: { 'application/json': infer Body } } } ? Body : undefined;
}

interface Operation {
  method: string;
  /** The path template, e.g. /api/wallet/{user_id}/deposit */
  path: string;
  operationId: string | undefined;
  item: PathItemObject;
  operation: OperationObject;
  /** JSON pointer to the operation in the document */
  pointer: string;
}

const methods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const;

/** A JSON pointer made of unescaped tokens. */
export function pointer(...tokens: string[]): string {
  return tokens.map((t) => `/${t.replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** The node a JSON pointer names in the document; undefined when there is none. */
export function at(jsonPointer: string): unknown {
  return jsonPointer
    .split('/')
    .slice(1)
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, key) => (node as Record<string, unknown> | undefined)?.[key], spec);
}

/** Follows local refs ("#/components/..."); undefined when one points at nothing. */
export function resolve<T>(node: T | ReferenceObject): T | undefined {
  let current: unknown = node;
  while (current && typeof current === 'object' && '$ref' in current) current = at((current as ReferenceObject).$ref.replace(/^#/, ''));
  return current as T | undefined;
}

export const operations: readonly Operation[] = Object.entries(spec.paths ?? {}).flatMap(([path, item]: [string, PathItemObject]) =>
  methods.flatMap((method) => {
    const operation = item[method];
    if (!operation) return [];
    return [{ method: method.toUpperCase(), path, operationId: operation.operationId, item, operation, pointer: pointer('paths', path, method) }];
  }),
);

export function operation(operationId: OperationId): Operation {
  const found = operations.find((o) => o.operationId === operationId);
  if (!found) throw new Error(`openapi.yaml has no operation ${operationId}`);
  return found;
}

// ajv-formats is CommonJS with its function on `default`, which ESM loaders see one level deeper.
type AddFormats = typeof addFormatsModule.default;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

// strict: false because the document is registered whole (it is not itself a schema), so that any
// schema in it, inline or under components, is compiled by its pointer; validateSchema: false because
// checking it against the meta-schema would be done on every start (test/openapi.test.ts does it once).
const ajv = new Ajv2020({ allErrors: true, strict: false, validateSchema: false, coerceTypes: false, useDefaults: false });
addFormats(ajv);
// ajv's multipleOf divides floats (0.29 / 0.01 is not a whole number); amounts need an exact test.
ajv.removeKeyword('multipleOf');
ajv.addKeyword({
  keyword: 'multipleOf',
  type: 'number',
  schemaType: 'number',
  error: { message: ({ schema }) => `must have at most ${decimalsOf(schema as number)} decimal places` },
  validate: (step: number, value: number) => hasAtMostDecimals(value, decimalsOf(step)) && isMultiple(value, step),
});
const documentId = 'openapi';
ajv.addSchema(spec, documentId);

function decimalsOf(step: number): number {
  const [, fraction = ''] = String(step).split('.');
  return fraction.length;
}

function isMultiple(value: number, step: number): boolean {
  const scale = 10 ** decimalsOf(step);
  return Math.round(value * scale) % Math.round(step * scale) === 0;
}

const compiled = new Map<string, ValidateFunction>();

/** The validator of the schema at a JSON pointer into the document, compiled once. */
export function validatorAt(schemaPointer: string): ValidateFunction {
  let validate = compiled.get(schemaPointer);
  // In a URI fragment, a JSON pointer's tokens are percent-encoded (RFC 6901, 6): `{user_id}`, `*/*`.
  const fragment = schemaPointer.split('/').map(encodeURIComponent).join('/');
  if (!validate) compiled.set(schemaPointer, (validate = ajv.compile({ $ref: `${documentId}#${fragment}` })));
  return validate;
}

/** Points local refs ("#/components/...") at the registered document. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `${documentId}${v}` : rebase(v)]),
  );
}

const bySchema = new WeakMap<object, ValidateFunction>();

/** The validator of a schema object taken from the document (its refs resolved there), compiled once. */
export function validatorOf(schema: object): ValidateFunction {
  let validate = bySchema.get(schema);
  if (!validate) bySchema.set(schema, (validate = ajv.compile(rebase(schema) as object)));
  return validate;
}

function fieldErrors(where: FieldError['in'], errors: ErrorObject[] | null | undefined, name?: string): FieldError[] {
  return (errors ?? []).map((e) => {
    if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      return { in: where, name: `${e.instancePath}/${extra}`, detail: 'is not a known field' };
    }
    if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      return { in: where, name: `${e.instancePath}/${missing}`, detail: 'is required' };
    }
    return { in: where, name: name ?? (e.instancePath || '/'), detail: e.message ?? 'is invalid' };
  });
}

type ParamValue = string | number | boolean;
type ParamParser = (raw: string) => ParamValue | undefined;

// Parameters arrive as strings; each is read as strictly as a JSON value of its schema's type.
const parsers: Record<string, ParamParser> = {
  integer: (raw) => (/^-?(0|[1-9]\d*)$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : undefined),
  number: (raw) => (/^-?(0|[1-9]\d*)(\.\d+)?$/.test(raw) ? Number(raw) : undefined),
  boolean: (raw) => (raw === 'true' ? true : raw === 'false' ? false : undefined),
  string: (raw) => raw,
};

interface CompiledParam {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  type: string;
  fallback: ParamValue | undefined;
  check: ValidateFunction;
}

type RawParams = Record<string, string | undefined> | null | undefined;

export interface RequestValidator<Id extends OperationId> {
  hasBody: boolean;
  /** The operation takes an Idempotency-Key header */
  idempotent: boolean;
  /** API Gateway leaves absent parameters out; serverless-offline sends null. */
  params<In extends 'path' | 'query'>(where: In, raw: RawParams): ValidRequest<Id>[In];
  body(value: unknown): ValidRequest<Id>['body'];
}

/** Compiles the validators of one operation of openapi.yaml. */
export function requestValidator<Id extends OperationId>(operationId: Id): RequestValidator<Id> {
  const { operation: op, pointer: opPointer } = operation(operationId);
  const declared = (op.parameters ?? []).map((p) => resolve<ParameterObject>(p)!);
  // Compiled at the first request, not at import: a service answers sooner after its start.
  let compiled: { params: CompiledParam[]; checkBody: ValidateFunction | undefined } | undefined;
  const compile = () => (compiled ??= { params: compileParams(), checkBody: op.requestBody && validatorAt(bodyPointer) });
  const bodyPointer = `${opPointer}/requestBody/content/application~1json/schema`;
  const compileParams = (): CompiledParam[] => (op.parameters ?? []).flatMap((p, index) => {
    const param = resolve<ParameterObject>(p)!;
    if (param.in !== 'path' && param.in !== 'query') return [];
    const schema = resolve<SchemaObject>(param.schema ?? {})!;
    const type = String(schema.type ?? 'string');
    const schemaPointer = '$ref' in p ? `${p.$ref.replace(/^#/, '')}/schema` : `${opPointer}/parameters/${index}/schema`;
    return [{
      name: param.name,
      in: param.in,
      required: param.required === true,
      type: parsers[type] ? type : 'string',
      fallback: schema.default as ParamValue | undefined,
      check: validatorAt(schemaPointer),
    }];
  });

  return {
    hasBody: op.requestBody !== undefined,
    idempotent: declared.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'),
    params(where, given) {
      const raw = given ?? {};
      const wanted = compile().params.filter((p) => p.in === where);
      const errors: FieldError[] = Object.keys(raw)
        .filter((name) => !wanted.some((p) => p.name === name))
        .map((name) => ({ in: where, name, detail: 'is not a known parameter' }));
      const values: Record<string, ParamValue> = {};
      for (const p of wanted) {
        const text = raw[p.name];
        if (text === undefined || text === '') {
          if (p.required) errors.push({ in: where, name: p.name, detail: 'is required' });
          else if (p.fallback !== undefined) values[p.name] = p.fallback;
          continue;
        }
        const value = parsers[p.type]!(text);
        if (value === undefined) errors.push({ in: where, name: p.name, detail: `must be ${p.type === 'integer' ? 'an integer' : `a ${p.type}`}` });
        else if (!p.check(value)) errors.push(...fieldErrors(where, p.check.errors, p.name));
        else values[p.name] = value;
      }
      if (errors.length) throw validationProblem(errors);
      // What the schemas let through is what the generated types describe.
      return values as ValidRequest<Id>[typeof where];
    },
    body(value) {
      const { checkBody } = compile();
      if (checkBody && !checkBody(value)) throw validationProblem(fieldErrors('body', checkBody.errors));
      return value as ValidRequest<Id>['body'];
    },
  };
}
