// Money is exact: whole cents in a bigint from the request to the database and back, never a float.
// PostgreSQL NUMERIC arrives as a string ("12.30") and leaves as a JSON number written with two decimals.
export type Cents = bigint;

/** Cents of a JSON number already validated as positive with at most two decimals. */
export function centsOf(amount: number): Cents {
  return BigInt(Math.round(amount * 100));
}

/** Cents of a NUMERIC(_, 2) value as node-postgres returns it, e.g. "-12.30". */
export function centsFromDecimal(text: string): Cents {
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) throw new Error(`not a decimal amount: ${text}`);
  const cents = BigInt(match[2]!) * 100n + BigInt((match[3] ?? '').padEnd(2, '0'));
  return match[1] ? -cents : cents;
}

/** "12.30" for 1230n: the text to store in NUMERIC and to show. */
export function toDecimal(cents: Cents): string {
  const sign = cents < 0n ? '-' : '';
  const abs = cents < 0n ? -cents : cents;
  return `${sign}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** Exact decimal check for a JSON number: true when `value` has at most `places` decimals. */
export function hasAtMostDecimals(value: number, places: number): boolean {
  const scale = 10 ** places;
  // A number with at most `places` decimals survives the round trip through integer units exactly.
  return Number.isFinite(value) && Math.round(value * scale) / scale === value;
}

/** A money value in a response body: written as a JSON number with exactly two decimals. */
export class Money {
  constructor(readonly cents: Cents) {}
  static fromDecimal(text: string): Money {
    return new Money(centsFromDecimal(text));
  }
}

// JSON.stringify cannot write 12.30 (it would write 12.3); Money values are swapped for a token
// that no validated string can contain (control characters are rejected) and then written raw.
const token = '\u0000money:';
const tokenPattern = /"\\u0000money:(-?\d+\.\d{2})"/g;

export function toJson(value: unknown): string {
  return JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
    const original = this[key];
    return original instanceof Money ? token + toDecimal(original.cents) : v;
  }).replace(tokenPattern, '$1');
}
