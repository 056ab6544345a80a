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
