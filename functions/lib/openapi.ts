// openapi.yaml is the one source of truth for requests: each handler validates its body and
// parameters with the schemas written there, compiled once per process, with no type coercion.
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { OpenAPIObject, OperationObject, ParameterObject, ReferenceObject, SchemaObject } from 'openapi3-ts/oas31';
import { parse } from 'yaml';
import specText from '../../openapi.yaml?raw';
import { hasAtMostDecimals } from './money.js';
import { validationProblem, type FieldError } from './problem.js';

export const spec = parse(specText) as OpenAPIObject;

// ajv-formats is CommonJS with its function on `default`, which ESM loaders see one level deeper.
type AddFormats = typeof addFormatsModule.default;
const addFormats: AddFormats =
  (addFormatsModule as unknown as { default: AddFormats }).default ?? (addFormatsModule as unknown as AddFormats);

const ajv = new Ajv2020({ allErrors: true, strict: true, coerceTypes: false, useDefaults: false });
addFormats(ajv, ['uuid', 'date-time', 'uri-reference']);
// ajv's multipleOf divides floats (0.29 / 0.01 is not a whole number); amounts need an exact test.
ajv.removeKeyword('multipleOf');
ajv.addKeyword({
  keyword: 'multipleOf',
  type: 'number',
  schemaType: 'number',
  error: { message: ({ schema }) => `must have at most ${decimalsOf(schema as number)} decimal places` },
  validate: (step: number, value: number) => hasAtMostDecimals(value, decimalsOf(step)) && isMultiple(value, step),
});
ajv.addKeyword('components');
ajv.addSchema({ $id: 'openapi', components: rebase(spec.components) as object });

function decimalsOf(step: number): number {
  const [, fraction = ''] = String(step).split('.');
  return fraction.length;
}

function isMultiple(value: number, step: number): boolean {
  const scale = 10 ** decimalsOf(step);
  return Math.round(value * scale) % Math.round(step * scale) === 0;
}

/** Points local refs ("#/components/...") at the registered document. */
function rebase(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rebase);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' && v.startsWith('#') ? `openapi${v}` : rebase(v)]),
  );
}

function resolve<T extends object>(item: T | ReferenceObject): T {
  if (!('$ref' in item)) return item;
  const path = item.$ref.replace(/^#\//, '').split('/');
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], spec) as T;
}

export function operation(operationId: string): { method: string; path: string; op: OperationObject } {
  for (const [path, item] of Object.entries(spec.paths ?? {})) {
    for (const method of ['get', 'post', 'put', 'patch', 'delete'] as const) {
      const op = item[method];
      if (op?.operationId === operationId) return { method: method.toUpperCase(), path, op };
    }
  }
  throw new Error(`openapi.yaml has no operation ${operationId}`);
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
  integer: (raw) => (/^-?(0|[1-9]\d*)$/.test(raw) ? Number(raw) : undefined),
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

export interface RequestValidator {
  hasBody: boolean;
  /** The operation takes an Idempotency-Key header */
  idempotent: boolean;
  /** API Gateway leaves absent parameters out; serverless-offline sends null. */
  params(where: 'path' | 'query', raw: Record<string, string | undefined> | null | undefined): Record<string, ParamValue>;
  body(value: unknown): void;
}

/** Compiles the validators of one operation of openapi.yaml. */
export function requestValidator(operationId: string): RequestValidator {
  const { op } = operation(operationId);
  const declared = (op.parameters ?? []).map((p) => resolve<ParameterObject>(p));
  const params: CompiledParam[] = declared.filter((p) => p.in === 'path' || p.in === 'query').map((param) => {
    const schema = resolve<SchemaObject>(param.schema ?? {});
    const type = String(resolve<SchemaObject>(schema).type ?? 'string');
    return {
      name: param.name,
      in: param.in as 'path' | 'query',
      required: param.required === true,
      type: parsers[type] ? type : 'string',
      fallback: schema.default as ParamValue | undefined,
      check: ajv.compile(rebase(param.schema ?? {}) as object),
    };
  });
  const bodySchema = op.requestBody && resolve(op.requestBody).content['application/json']?.schema;
  const checkBody = bodySchema ? ajv.compile(rebase(bodySchema) as object) : undefined;

  return {
    hasBody: checkBody !== undefined,
    idempotent: declared.some((p) => p.in === 'header' && p.name.toLowerCase() === 'idempotency-key'),
    params(where, given) {
      const raw = given ?? {};
      const wanted = params.filter((p) => p.in === where);
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
        if (value === undefined || (typeof value === 'number' && !Number.isSafeInteger(value) && p.type === 'integer')) {
          errors.push({ in: where, name: p.name, detail: `must be ${p.type === 'integer' ? 'an integer' : `a ${p.type}`}` });
        } else if (!p.check(value)) {
          errors.push(...fieldErrors(where, p.check.errors, p.name));
        } else {
          values[p.name] = value;
        }
      }
      if (errors.length) throw validationProblem(errors);
      return values;
    },
    body(value) {
      if (checkBody && !checkBody(value)) throw validationProblem(fieldErrors('body', checkBody.errors));
    },
  };
}
