import { GraphQLError } from 'graphql';
import type { Context } from '../builder.js';
import { ErrorCode } from '../errors.js';

/**
 * Runs a resolver that takes a join `code`, counting an unknown code (a
 * `null` result or `NOT_FOUND` on `code`) against the caller and their
 * address. Once either has tried too many unknown codes, every code lookup is
 * refused with `RATE_LIMITED` until the window ends, so codes cannot be
 * guessed by brute force (31⁶ ≈ 887 million of them) from one account, or
 * from many accounts on one address.
 */
export async function limitCodeGuesses<T>(context: Pick<Context, 'viewer' | 'address' | 'services'>, lookup: () => Promise<T>): Promise<T> {
  const { limits } = context.services;
  const keys = [`address:${context.address}`, ...(context.viewer ? [`player:${context.viewer.id}`] : [])];
  await limits.check('joinCodeMiss', keys);
  let result: T;
  try {
    result = await lookup();
  } catch (error) {
    const unknownCode = error instanceof GraphQLError && error.extensions.code === ErrorCode.NotFound && error.extensions.field === 'code';
    if (unknownCode) await limits.consume('joinCodeMiss', keys);
    throw error;
  }
  if (result === null || result === undefined) await limits.consume('joinCodeMiss', keys);
  return result;
}
