// `npm run test:mutation [-- scope… [stryker options]]`: Stryker over each
// scope in turn (default: all), one at a time so a run stays on one core.
// Options after the scopes go to Stryker, e.g. `-- domain --mutate server/domain/market.ts`.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const scopes = JSON.parse(readFileSync(new URL('./mutation-scopes.json', import.meta.url), 'utf8'));

const args = process.argv.slice(2);
const firstOption = args.findIndex((arg) => arg.startsWith('-'));
const named = firstOption < 0 ? args : args.slice(0, firstOption);
const strykerOptions = firstOption < 0 ? [] : args.slice(firstOption);
const wanted = named.length ? named : Object.keys(scopes);
for (const scope of wanted) {
  if (!scopes[scope]) {
    console.error(`Unknown scope "${scope}"; one of ${Object.keys(scopes).join(', ')}`);
    process.exit(2);
  }
  console.log(`== mutation testing: ${scope} (${scopes[scope].mutate.join(', ')})`);
  const { status } = spawnSync('npx', ['stryker', 'run', 'stryker.config.mjs', ...strykerOptions], {
    stdio: 'inherit',
    env: { ...process.env, MUTATION_SCOPE: scope },
  });
  if (status !== 0) process.exit(status ?? 1);
}
