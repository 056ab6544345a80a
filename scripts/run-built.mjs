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
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const at = (...parts) => path.join(root, ...parts);

/** Newest modification time of the files under `paths` (0 when none exist). */
function newest(paths) {
  let latest = 0;
  const visit = (file) => {
    if (!existsSync(file)) return;
    const stats = statSync(file);
    if (stats.isDirectory()) {
      for (const name of readdirSync(file)) if (name !== 'node_modules') visit(path.join(file, name));
    } else latest = Math.max(latest, stats.mtimeMs);
  };
  paths.forEach((p) => visit(at(p)));
  return latest;
}

/** The builds `npm start` needs: where each writes a stamp, what it is built from, and how. */
const builds = [
  { name: 'server', stamp: 'dist/server/.built', sources: ['server', 'tsconfig.json', 'tsconfig.build.json', 'package.json'], script: 'build:server' },
  { name: 'dashboard', stamp: 'dist/dashboard/.built', sources: ['client', 'vite.config.ts', 'package.json'], script: 'build:dashboard' },
];

const canBuild = existsSync(at('node_modules', 'typescript')) && existsSync(at('node_modules', 'vite'));
for (const build of builds) {
  const stampTime = existsSync(at(build.stamp)) ? statSync(at(build.stamp)).mtimeMs : 0;
  if (stampTime && stampTime >= newest(build.sources)) continue;
  if (!canBuild) {
    // A production install (dev dependencies pruned) runs what it has: the image was built before pruning.
    if (stampTime) continue;
    console.error(`The ${build.name} is not built and the build tools are not installed: run npm install, then npm run build.`);
    process.exit(1);
  }
  console.error(`Building the ${build.name} (${stampTime ? 'sources changed' : 'first start'})…`);
  // The build script writes the stamp once it succeeded.
  execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '-s', build.script], { cwd: root, stdio: 'inherit' });
}

const [entry = 'main'] = process.argv.splice(2, 1);
const compiled = at('dist', 'server', `${entry}.js`);
if (!existsSync(compiled)) {
  console.error(`No compiled entry dist/server/${entry}.js`);
  process.exit(1);
}
process.setSourceMapsEnabled(true);
await import(pathToFileURL(compiled).href);
