import { describe, expect, it } from 'vitest';
import { parseJson } from './api.js';
import { formatMoney, parseAmount } from './format.js';

describe('formatMoney', () => {
  it('writes two decimals and groups thousands, from the exact text', () => {
    expect(formatMoney('0.3')).toBe('0.30');
    expect(formatMoney('7.50')).toBe('7.50');
    expect(formatMoney('1234567.5')).toBe('1,234,567.50');
    expect(formatMoney('999999999999999999.99')).toBe('999,999,999,999,999,999.99');
    expect(formatMoney('-12')).toBe('-12.00');
  });
});

describe('parseAmount', () => {
  it('reads what a person types, and leaves decimals and limits to the API', () => {
    expect(parseAmount(' 12.5 ')).toBe(12.5);
    expect(parseAmount('12,50')).toBe(12.5);
    expect(parseAmount('0.001')).toBe(0.001);
    for (const text of ['', 'abc', '1e3', '-5', '1.2.3', '1,000.50']) expect(parseAmount(text), text).toBeUndefined();
  });
});

describe('parseJson', () => {
  it('keeps money as text with its two decimals, and leaves other numbers alone', () => {
    expect(parseJson('{"user_id": 7, "balance": 12.30, "purchases": [{"amount": 2.50}]}')).toEqual({
      user_id: 7,
      balance: '12.30',
      purchases: [{ amount: '2.50' }],
    });
  });
});
