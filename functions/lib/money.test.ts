import { describe, expect, it } from 'vitest';
import { centsFromDecimal, centsOf, hasAtMostDecimals, Money, toDecimal, toJson } from './money.js';

describe('centsOf', () => {
  it('turns a validated JSON amount into whole cents, exactly', () => {
    expect(centsOf(0.1)).toBe(10n);
    expect(centsOf(0.29)).toBe(29n); // 0.29 * 100 is 28.999999999999996 in floating point
    expect(centsOf(12.5)).toBe(1250n);
    expect(centsOf(1.15)).toBe(115n);
    expect(centsOf(1_000_000_000)).toBe(100_000_000_000n);
    expect(centsOf(999_999_999.99)).toBe(99_999_999_999n);
  });
});

describe('centsFromDecimal', () => {
  it('reads NUMERIC text as node-postgres returns it', () => {
    expect(centsFromDecimal('12.30')).toBe(1230n);
    expect(centsFromDecimal('12.3')).toBe(1230n);
    expect(centsFromDecimal('12')).toBe(1200n);
    expect(centsFromDecimal('0.00')).toBe(0n);
    expect(centsFromDecimal('0.07')).toBe(7n);
    expect(centsFromDecimal('-12.30')).toBe(-1230n);
    expect(centsFromDecimal('-0.05')).toBe(-5n);
  });

  it('keeps amounts beyond the range of a float exact', () => {
    expect(centsFromDecimal('123456789012345678.99')).toBe(12345678901234567899n);
  });

  it('refuses text that is not a decimal with at most two places', () => {
    for (const text of ['', 'abc', '1.234', '1.', '.5', '1e3', ' 1.00', '1,00', '--1', '+1.00']) {
      expect(() => centsFromDecimal(text), text).toThrow(/not a decimal amount/);
    }
  });
});

describe('toDecimal', () => {
  it('writes cents with exactly two decimals', () => {
    expect(toDecimal(0n)).toBe('0.00');
    expect(toDecimal(5n)).toBe('0.05');
    expect(toDecimal(30n)).toBe('0.30');
    expect(toDecimal(1230n)).toBe('12.30');
    expect(toDecimal(100_000_000_000n)).toBe('1000000000.00');
  });

  it('writes negative amounts with the sign in front of the whole value', () => {
    expect(toDecimal(-5n)).toBe('-0.05');
    expect(toDecimal(-1230n)).toBe('-12.30');
  });

  it('writes amounts beyond the range of a float exactly', () => {
    expect(toDecimal(12345678901234567899n)).toBe('123456789012345678.99');
    expect(toDecimal(-(2n ** 70n))).toBe('-11805916207174113034.24');
  });

  it('round-trips with centsFromDecimal', () => {
    for (const text of ['0.00', '0.01', '-0.01', '99.99', '1000000000.00', '-123456789012345678.90']) {
      expect(toDecimal(centsFromDecimal(text))).toBe(text);
    }
  });
});

describe('hasAtMostDecimals', () => {
  it('accepts amounts with at most two decimals, including ones floats cannot hold exactly', () => {
    for (const value of [0.1, 0.29, 0.01, 1, 12.5, 999_999_999.99, 1_000_000_000]) {
      expect(hasAtMostDecimals(value, 2), String(value)).toBe(true);
    }
  });

  it('refuses amounts with more decimals', () => {
    for (const value of [1.005, 0.001, 1e-9, 0.125, 999_999_999.999]) {
      expect(hasAtMostDecimals(value, 2), String(value)).toBe(false);
    }
  });

  it('refuses values that are not finite numbers', () => {
    for (const value of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(hasAtMostDecimals(value, 2), String(value)).toBe(false);
    }
  });

  it('counts places as asked', () => {
    expect(hasAtMostDecimals(7, 0)).toBe(true);
    expect(hasAtMostDecimals(7.5, 0)).toBe(false);
    expect(hasAtMostDecimals(1.005, 3)).toBe(true);
  });
});

describe('toJson', () => {
  it('writes Money as a JSON number with two decimals', () => {
    expect(toJson({ balance: Money.fromDecimal('0.30') })).toBe('{"balance":0.30}');
    expect(toJson({ balance: new Money(0n) })).toBe('{"balance":0.00}');
    expect(toJson({ balance: new Money(-1230n) })).toBe('{"balance":-12.30}');
    expect(toJson({ balance: new Money(100_000_000_000n) })).toBe('{"balance":1000000000.00}');
  });

  it('writes Money wherever it sits: nested, in arrays, at the top', () => {
    const text = toJson({ purchases: [{ amount: new Money(1250n) }, { amount: new Money(7n) }], total: new Money(1257n) });
    expect(text).toBe('{"purchases":[{"amount":12.50},{"amount":0.07}],"total":12.57}');
    expect(JSON.parse(text)).toEqual({ purchases: [{ amount: 12.5 }, { amount: 0.07 }], total: 12.57 });
    expect(toJson(new Money(5n))).toBe('0.05');
  });

  it('leaves every other value as JSON.stringify writes it', () => {
    const value = { user_id: 42, description: 'socks', reason: null, ok: true, at: new Date(0), list: [1, 'a'] };
    expect(toJson(value)).toBe(JSON.stringify(value));
  });

  it('leaves strings that merely look like the money token alone', () => {
    const lookalikes = ['money:0.30', '\\u0000money:0.30', 'x\\u0000money:0.30', '0.30', '"money:0.30"', 'u0000money:12.50'];
    for (const description of lookalikes) {
      const text = toJson({ description, amount: new Money(30n) });
      expect(JSON.parse(text), description).toEqual({ description, amount: 0.3 });
      expect(text).toContain('"amount":0.30');
    }
  });

  it('keeps 0.10 + 0.10 + 0.10 exact when added as cents', () => {
    const sum = centsOf(0.1) + centsOf(0.1) + centsOf(0.1);
    expect(toDecimal(sum)).toBe('0.30');
    expect(toJson({ balance: new Money(sum) })).toBe('{"balance":0.30}');
    expect(0.1 + 0.1 + 0.1).not.toBe(0.3); // what a float balance would have stored
  });
});
