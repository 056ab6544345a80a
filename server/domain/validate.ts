import { badInput } from '../errors.js';

/** A player or game name: trimmed, 1–40 characters. */
export function validName(field: string, value: string): string {
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > 40) throw badInput(field, `"${field}" must be 1–40 characters.`);
  return trimmed;
}

/** An integer within [min, max]. */
export function validInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw badInput(field, `"${field}" must be an integer from ${min} to ${max}.`);
  }
  return value;
}

/** A finite number within [min, max]. */
export function validNumber(field: string, value: number, min: number, max: number): number {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw badInput(field, `"${field}" must be a finite number from ${min} to ${max}.`);
  }
  return value;
}

/** A string of 1–`max` characters after trimming. */
export function validText(field: string, value: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > max) throw badInput(field, `"${field}" must be 1–${max} characters.`);
  return trimmed;
}

/** Rounds money to cents, so repeated arithmetic does not drift. */
export const roundMoney = (value: number) => Math.round(value * 100) / 100;

/**
 * Integer cents of an amount that is already a whole number of cents (a
 * price, a cash amount), exact: `Math.round` only removes the binary
 * representation error of the decimal.
 */
export const toCents = (amount: number) => Math.round(amount * 100);

/** Dollars of integer cents, for the API (the nearest double to the exact decimal). */
export const fromCents = (cents: number) => cents / 100;

/** Characters a strategy name may use (SPEC "Trading analytics"). */
const strategyPattern = /^[A-Za-z0-9 _.-]{1,40}$/;

/** A strategy label: trimmed, 1–40 characters of letters, digits, space, `_`, `.`, `-`. */
export function validStrategy(value: string): string {
  const trimmed = value.trim();
  if (!strategyPattern.test(trimmed)) {
    throw badInput('strategy', '"strategy" must be 1–40 characters of letters, digits, spaces, "_", "." or "-".');
  }
  return trimmed;
}
