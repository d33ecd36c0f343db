// How the page writes money, times and reasons, and reads an amount a person typed.
import type { RefusalReason } from './api.js';

/** "1234.5" -> "1,234.50": money arrives as the exact text of its JSON number. */
export function formatMoney(amount: string): string {
  const [whole = '0', fraction = ''] = amount.split('.');
  const sign = whole.startsWith('-') ? '-' : '';
  const grouped = whole.replace('-', '').replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${sign}${grouped}.${fraction.padEnd(2, '0')}`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });

export function formatTime(iso: string): string {
  return timeFormat.format(new Date(iso));
}

export const reasonText: Record<RefusalReason, string> = {
  insufficient_funds: 'Not enough money in the wallet',
  wallet_not_found: 'This user has no wallet',
};

/**
 * The number in what a person typed ("12.5", "12,50"), or undefined when it is not one. Decimals,
 * zero and limits are the API's to judge: its message says what is wrong.
 */
export function parseAmount(text: string): number | undefined {
  const normalized = text.trim().replace(',', '.');
  return /^\d+(\.\d+)?$/.test(normalized) ? Number(normalized) : undefined;
}
