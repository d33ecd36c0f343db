// Values for the bad-input phase: valid ones of a schema, and ones that break it in each way a client
// can (a wrong type, out of bounds, missing or extra fields, numbers JSON cannot carry exactly).
import fc from 'fast-check';
import type { Category } from './badInput.js';
import { check, deepResolve, resolve, type Json, type Schema } from './schemas.js';

const maxSafe = Number.MAX_SAFE_INTEGER;

/** A number written as JSON text that JavaScript cannot round-trip (1e400, 2^53 + 1). */
class RawNumber {
  constructor(readonly text: string) {}
}
type Value = Json | RawNumber | Value[] | { [key: string]: Value };

/** JSON text of a value, raw numbers written as they are. */
export function encode(value: Value): string {
  const raws: string[] = [];
  const text = JSON.stringify(value, (_key, v: unknown) => {
    if (v instanceof RawNumber) {
      raws.push(v.text);
      return `@@raw${raws.length - 1}@@`;
    }
    return v;
  });
  return text.replace(/"@@raw(\d+)@@"/g, (_, i: string) => raws[Number(i)]!);
}

export const printable = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 30 });
const anyJson = fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>;
const controlCharacter = fc.constantFrom('\u0000', '\n', '\t', '\r', '\u001b', '\u007f', '\u001f');

export function validValue(schema: Schema): fc.Arbitrary<Value> {
  const s = resolve(schema);
  if (s.enum) return fc.constantFrom(...s.enum);
  switch (s.type) {
    case 'integer':
      return fc.oneof(fc.integer({ min: Math.max(1, s.minimum ?? 1), max: 1000 }), fc.integer({ min: 1, max: Math.min(s.maximum ?? maxSafe, maxSafe) }));
    case 'number':
      return fc.integer({ min: 1, max: Math.round((s.maximum ?? 1e9) * 100) }).map((cents) => cents / 100);
    case 'string':
      return fc.string({ unit: 'grapheme-ascii', minLength: Math.max(1, s.minLength ?? 0), maxLength: Math.min(s.maxLength ?? 30, 30) });
    case 'object':
      return fc.record(Object.fromEntries(Object.entries(s.properties ?? {}).map(([k, v]) => [k, validValue(v)])) as Record<string, fc.Arbitrary<Value>>);
    default:
      return anyJson;
  }
}

/** Values of another JSON type than the schema's, among them the coercible ones ("5", true, null). */
function wrongType(schema: Schema): fc.Arbitrary<Value> {
  const type = resolve(schema).type;
  const numeric = type === 'integer' || type === 'number';
  return fc.oneof(
    numeric ? fc.oneof(fc.constantFrom('5', '1.5', '', '0x10', '1e3', ' 1', 'NaN'), printable) : fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
    fc.boolean(),
    fc.constant(null),
    fc.array(anyJson, { maxLength: 3 }),
    fc.dictionary(printable, anyJson, { maxKeys: 3 }),
  );
}

/** Values of the schema's type that break one of its bounds, labelled by what they break. */
function outOfBounds(schema: Schema): fc.Arbitrary<[Category, Value]> | undefined {
  const s = resolve(schema);
  const huge = fc.constantFrom<Value>(1e21, 1.7976931348623157e308, -1e21, new RawNumber('1e400'), new RawNumber('-1e400'), new RawNumber(`1${'0'.repeat(400)}`));
  if (s.type === 'integer') {
    return fc.oneof(
      fc.tuple(fc.constant<Category>('huge number'), fc.oneof(huge, fc.constantFrom<Value>(maxSafe + 1, new RawNumber('9007199254740993'), 2 ** 64)).filter((v) => !(typeof v === 'number' && check(s, v)))),
      fc.tuple(fc.constant<Category>('invalid value'), fc.oneof(fc.integer({ min: -1000, max: (s.minimum ?? 1) - 1 }), fc.double({ min: -1e6, max: 1e6, noNaN: true }).filter((v) => !Number.isInteger(v)))),
    );
  }
  if (s.type === 'number') {
    return fc.oneof(
      fc.tuple(fc.constant<Category>('huge number'), fc.oneof(huge, fc.constantFrom<Value>(1_000_000_000.01, 1e10, 2 ** 53))),
      fc.tuple(
        fc.constant<Category>('invalid value'),
        fc.oneof(
          fc.constantFrom<Value>(0, -0, -0.01, -1, 0.001, 1e-7, 5e-324, 0.005, 12.345),
          fc.integer({ min: -100_000, max: 0 }).map((c) => c / 100),
          fc.integer({ min: 1, max: 1_000_000 }).map((m) => m / 1000).filter((v) => !check(s, v)),
        ),
      ),
    );
  }
  if (s.type === 'string') {
    const options: fc.Arbitrary<[Category, Value]>[] = [
      fc.tuple(fc.constant<Category>('invalid value'), fc.tuple(fc.string({ maxLength: 10 }), controlCharacter, fc.string({ maxLength: 10 })).map((p) => p.join(''))),
    ];
    if ((s.minLength ?? 0) > 0) options.push(fc.tuple(fc.constant<Category>('invalid value'), fc.constant('')));
    if (s.maxLength !== undefined) {
      const long = fc.integer({ min: s.maxLength + 1, max: 60_000 }).map((n) => 'x'.repeat(n));
      const longUnicode = fc.string({ unit: 'grapheme', minLength: s.maxLength + 1, maxLength: s.maxLength + 300 });
      options.push(fc.tuple(fc.constant<Category>('long string'), fc.oneof(long, longUnicode)), fc.tuple(fc.constant<Category>('long string'), long));
    }
    if (s.enum) options.push(fc.tuple(fc.constant<Category>('invalid value'), printable.filter((v) => !s.enum!.includes(v))));
    return fc.oneof(...options);
  }
  return undefined;
}

/** Bodies for an object schema, each wrong in one labelled way. */
export function badBodies(schema: Schema): fc.Arbitrary<[Category, Value]> {
  const s = deepResolve(schema);
  const properties = s.properties ?? {};
  const valid = validValue(s) as fc.Arbitrary<Record<string, Value>>;
  const required = s.required ?? [];
  const options: fc.Arbitrary<[Category, Value]>[] = [
    fc.tuple(fc.constant<Category>('not an object'), fc.oneof(fc.array(anyJson, { maxLength: 3 }), printable, fc.integer(), fc.constant(null), fc.boolean())),
    fc.tuple(
      fc.constant<Category>('extra field'),
      fc.tuple(valid, printable.filter((k) => !(k in properties) && k !== '__proto__'), anyJson).map(([body, key, value]) => ({ ...body, [key]: value })),
    ),
  ];
  if (required.length) {
    options.push(
      fc.tuple(
        fc.constant<Category>('missing field'),
        fc.tuple(valid, fc.subarray(required, { minLength: 1 })).map(([body, missing]) => Object.fromEntries(Object.entries(body).filter(([k]) => !missing.includes(k)))),
      ),
    );
  }
  for (const [name, property] of Object.entries(properties)) {
    options.push(fc.tuple(fc.constant<Category>('wrong type'), fc.tuple(valid, wrongType(property)).map(([body, v]) => ({ ...body, [name]: v }))));
    const bounds = outOfBounds(property);
    if (bounds) options.push(fc.tuple(valid, bounds).map(([body, [category, v]]) => [category, { ...body, [name]: v }] as [Category, Value]));
  }
  return fc.oneof(...options);
}
