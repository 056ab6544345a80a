import { writeFileSync } from 'node:fs';
import { lexicographicSortSchema, printSchema } from 'graphql';
import { schema } from './schema/index.js';

/** The schema as committed in `schema.graphql`: sorted, so diffs show real changes only. */
export const printedSchema = () => `${printSchema(lexicographicSortSchema(schema))}\n`;

if (process.argv[1]?.endsWith('print-schema.ts')) {
  writeFileSync(new URL('../schema.graphql', import.meta.url), printedSchema());
  console.log('schema.graphql written');
}
