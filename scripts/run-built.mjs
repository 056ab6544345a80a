#!/usr/bin/env node
/**
 * Runs a compiled server entry (`npm start` → main, `npm run token` → token)
 * from dist/server, building first only when the build is missing or older
 * than its sources, so `npm install && npm start` works on a fresh clone and
 * a production image (built, dev dependencies pruned) never rebuilds.
 *
 *   node scripts/run-built.mjs <entry> [args…]
 *
 * Plain JavaScript on purpose: it must run before anything is compiled.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ensureBuilt } from './builds.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (...parts) => path.join(root, ...parts);

ensureBuilt(['server', 'dashboard']);

const [entry = 'main'] = process.argv.splice(2, 1);
const compiled = at('dist', 'server', `${entry}.js`);
if (!existsSync(compiled)) {
  console.error(`No compiled entry dist/server/${entry}.js`);
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(compiled).href);
