import { parseArgs } from 'node:util';
import { roles, createTokenIssuer, loadOrCreateSecret, type Role } from './auth.js';
import { optionsFromEnvironment, resolveOptions } from './config.js';
import { parseDuration } from './limits/durations.js';
import { createPlayers } from './domain/players.js';
import { createStore } from './store/store.js';

const usage = `Usage: npm run token -- --name <name> [--role PLAYER|GAME_MASTER|BOT] [--scope trade,play] [--expires <duration, default TOKEN_MAX_TTL (30d)>]

Creates a player in the configured store and prints a token for it, signed with
the same secret as the server (same environment: DATA_DIR, DATABASE_URL, JWT_SECRET).`;

async function main() {
  const { values } = parseArgs({
    options: {
      name: { type: 'string' },
      role: { type: 'string', default: 'PLAYER' },
      scope: { type: 'string', default: '' },
      expires: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help || !values.name) {
    console.error(usage);
    process.exit(values.help ? 0 : 2);
  }
  const role = values.role.toUpperCase() as Role;
  if (!roles.includes(role)) throw new Error(`--role must be one of ${roles.join(', ')}`);
  const config = resolveOptions(optionsFromEnvironment());
  // Checked before anything is created: a token may not outlive TOKEN_MAX_TTL.
  const expires = values.expires === undefined ? config.tokenMaxTtlSeconds : parseDuration(values.expires);
  if (!expires) throw new Error('--expires must be a duration like 7d, 12h, 90m or 3600s');
  if (expires > config.tokenMaxTtlSeconds) throw new Error(`--expires may be at most TOKEN_MAX_TTL (${config.tokenMaxTtlSeconds} s)`);
  const store = await createStore(config.databaseUrl ? { databaseUrl: config.databaseUrl } : { dataDir: config.dataDir });
  try {
    const player = await createPlayers({ store }).create(values.name, role);
    const scopes = values.scope.split(',').map((s) => s.trim()).filter(Boolean);
    const tokens = createTokenIssuer(loadOrCreateSecret({ jwtSecret: config.jwtSecret, dataDir: config.dataDir }), {
      maxTtlSeconds: config.tokenMaxTtlSeconds,
    });
    console.log(await tokens.sign({ ...player, role, scopes }, expires));
  } finally {
    await store.dispose();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
