// openapi.yaml as the bad-input generator reads it: a few shapes of its schemas and operations,
// refs followed, and a value checked by the contract's own validator.
import { resolve as resolveRef, spec as document, validatorOf } from '../../functions/lib/contract.js';

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface Schema {
  $ref?: string;
  type?: string | string[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  format?: string;
  enum?: Json[];
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean;
}

export interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Schema;
  $ref?: string;
}

export interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: Schema }> };
}

// The document as the few shapes this generator reads.
export const spec = document as unknown as { paths: Record<string, Record<string, Operation>> };

export function resolve<T extends { $ref?: string }>(node: T): T {
  return resolveRef<T>(node)!;
}

export function deepResolve(schema: Schema): Schema {
  const s = resolve(schema);
  return s.properties ? { ...s, properties: Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, deepResolve(v)])) } : s;
}

export function check(schema: Schema, value: unknown): boolean {
  return validatorOf(schema)(value);
}
