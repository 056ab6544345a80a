import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

/** The dashboard: built into dist/dashboard and served by the server at `/`. */
export default defineConfig({
  root: 'client/dashboard',
  plugins: [react()],
  build: { outDir: '../../dist/dashboard', emptyOutDir: true },
  server: { proxy: { '/graphql': { target: 'http://localhost:4000', ws: true } } },
});
