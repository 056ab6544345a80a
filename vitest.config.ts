import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // Node resolves `graphql` (no exports map) to its CommonJS entry for the
    // libraries it loads; make Vite-transformed code use the same copy, or
    // graphql-js sees two realms ("Cannot use GraphQLScalarType from another module").
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    // Guards against a hang, not a speed check: every test waits on events,
    // and on a machine busy with other jobs spawning a server, a browser or
    // tsc can take several times as long as on an idle one.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // Two cores here: files run in parallel, each on its own ports and data dirs.
    maxWorkers: 2,
  },
});
