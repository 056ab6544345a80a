import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/**
 * The dashboard: built into dist/dashboard and served by the server at `/`.
 * Paths are anchored to this file so the build is the same from any working
 * directory (npm scripts, the browser tests' programmatic `build()`).
 */
export default defineConfig({
  root: fileURLToPath(new URL('client/dashboard', import.meta.url)),
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL('dist/dashboard', import.meta.url)), emptyOutDir: true },
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } } },
});
