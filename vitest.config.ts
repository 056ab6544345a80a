import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores here: files run in parallel, each on its own ports and data dirs.
    maxWorkers: 2,
  },
});
