/**
 * The builds that compiled entries need (`npm start`, `npm run token`, and
 * the bench's Realmcast server), and `ensureBuilt`, which builds one only
 * when it is missing or older than its sources. Plain JavaScript on purpose:
 * it must run before anything is compiled.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Where each build writes a stamp, what it is built from, and how. */
const builds = {
  server: { stamp: 'dist/server/.built', sources: ['server', 'tsconfig.json', 'tsconfig.build.json', 'package.json'], script: 'build:server' },
  dashboard: { stamp: 'dist/dashboard/.built', sources: ['client', 'vite.config.ts', 'package.json'], script: 'build:dashboard' },
};

/**
 * Builds each of `names` ('server', 'dashboard') that is missing or older
 * than its sources. Without the build tools (a production install, dev
 * dependencies pruned) it runs what it has, and exits when nothing is built.
 */
export function ensureBuilt(names) {
  const canBuild = existsSync(at('node_modules', 'typescript')) && existsSync(at('node_modules', 'vite'));
  for (const name of names) {
    const build = builds[name];
    const stampTime = existsSync(at(build.stamp)) ? statSync(at(build.stamp)).mtimeMs : 0;
    if (stampTime && stampTime >= newest(build.sources)) continue;
    if (!canBuild) {
      // A production install runs what it has: the image was built before pruning.
      if (stampTime) continue;
      console.error(`The ${name} is not built and the build tools are not installed: run npm install, then npm run build.`);
      process.exit(1);
    }
    console.error(`Building the ${name} (${stampTime ? 'sources changed' : 'first start'})…`);
    // The build script writes the stamp once it succeeded.
    execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', ['run', '-s', build.script], { cwd: root, stdio: 'inherit' });
  }
}
