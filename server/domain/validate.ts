import { badInput } from '../errors.js';

/**
 * Characters no name, message or reason may contain: control characters
 * (C0, DEL, C1: NUL, ANSI escapes, CR/LF, tab), format characters (bidi
 * overrides and isolates such as U+202E, zero-width spaces and joiners,
 * U+FEFF, soft hyphen) and the line and paragraph separators. They are
 * refused, not stripped: what a client sends is stored exactly or not at all.
 */
const forbiddenCharacter = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u;

/**
 * Free text as stored and shown to everyone: trimmed, Unicode NFC,
 * `min`–`max` characters (code points), none of them forbidden. The error
 * names the field and the offending code point, never echoing the input.
 */
export function validText(field: string, value: string, max: number, min = 1): string {
  const text = value.normalize('NFC').trim();
  const length = [...text].length;
  if (length < min || length > max) throw badInput(field, `"${field}" must be ${min}–${max} characters.`);
  const bad = forbiddenCharacter.exec(text);
  if (bad) {
    const codePoint = `U+${bad[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}`;
    throw badInput(field, `"${field}" must not contain control, bidi-control or invisible characters (found ${codePoint}).`);
  }
  return text;
}

/** A player or game name: {@link validText} of 1–40 characters. */
export const validName = (field: string, value: string): string => validText(field, value, 40);

/** A list argument of at most `max` entries. */
export function validList<T>(field: string, list: readonly T[], max: number): readonly T[] {
  if (list.length > max) throw badInput(field, `"${field}" may list at most ${max} entries.`);
  return list;
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
