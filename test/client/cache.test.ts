import { readFileSync } from 'node:fs';
import path from 'node:path';
import { buildSchema, isAbstractType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { realmcastPossibleTypes } from '../../client/cache.js';

describe('client: cache', () => {
  it('should know the concrete types of every interface and union in schema.graphql', () => {
    const schema = buildSchema(readFileSync(path.resolve(import.meta.dirname, '../../schema.graphql'), 'utf8'));
    const expected = Object.fromEntries(
      Object.values(schema.getTypeMap())
        .filter(isAbstractType)
        .map((type) => [type.name, schema.getPossibleTypes(type).map((t) => t.name).sort()]),
    );
    // When this fails: update `realmcastPossibleTypes` in client/cache.ts.
    expect(Object.fromEntries(Object.entries(realmcastPossibleTypes).map(([name, types]) => [name, [...types].sort()]))).toEqual(expected);
  });
});
