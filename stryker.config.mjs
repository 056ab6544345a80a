// Mutation testing (`npm run test:mutation`, not part of CI): which code is
// mutated, and which test files may kill its mutants, per scope. A run covers
// one scope at a time (`npm run test:mutation -- auth`), on one core, and is
// incremental: unchanged code and tests keep their earlier results.
import { readFileSync } from 'node:fs';

const scopes = JSON.parse(readFileSync(new URL('./scripts/mutation-scopes.json', import.meta.url), 'utf8'));

const name = process.env.MUTATION_SCOPE ?? 'auth';
const scope = scopes[name];
if (!scope) throw new Error(`Unknown MUTATION_SCOPE "${name}"; one of ${Object.keys(scopes).join(', ')}`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  mutate: scope.mutate,
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  concurrency: 1,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'json'],
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  clearTextReporter: { allowColor: false, logTests: false, reportMutants: false },
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['dist', 'data', 'test-artifacts', 'reports', '.stryker-tmp'],
  cleanTempDir: 'always',
  // Mutants in code run at import (the scenario deck, constant tables) need every test of the scope: too slow to measure here.
  ignoreStatic: true,
};
