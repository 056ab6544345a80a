import { readFileSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import base from './vitest.config.js';

// Stryker runs the test files of one scope (MUTATION_SCOPE; see stryker.config.mjs and scripts/mutation-scopes.json).
const scopes = JSON.parse(readFileSync(new URL('./scripts/mutation-scopes.json', import.meta.url), 'utf8')) as Record<string, { tests: string[] }>;
const scope = scopes[process.env.MUTATION_SCOPE ?? 'auth'];

export default defineConfig({
  ...base,
  test: { ...base.test, include: scope?.tests ?? [] },
});
