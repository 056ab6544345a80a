/**
 * What the bots share as programs: connection settings from the environment
 * and flags, usage text, logging, and running until Ctrl-C.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import WebSocket from 'ws';
import { createRealmcastClient, type RealmcastClient } from '../index.js';

/** Where the bots connect when neither `--url` nor `REALMCAST_URL` says otherwise. */
export const defaultUrl = 'http://localhost:4000/graphql';

/** Flags every bot accepts. */
export const connectionFlags = {
  url: { type: 'string' },
  token: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export const connectionUsage = `Connection:
  --url <url>       GraphQL endpoint (env REALMCAST_URL, default ${defaultUrl})
  --token <jwt>     Bearer token (env REALMCAST_TOKEN; \`npm run token -- --role BOT --name …\`)
  -h, --help        Show this help`;

/**
 * Parses the command line with node:util parseArgs (the bot's flags plus
 * {@link connectionFlags}); prints `usage` and exits on `--help` or on a
 * malformed command line.
 */
export function parseCommandLine<const O extends NonNullable<ParseArgsConfig['options']>>(options: O, usage: string, args = process.argv.slice(2)) {
  const config = { args, options: { ...connectionFlags, ...options }, strict: true, allowPositionals: false } as const;
  let parsed: ReturnType<typeof parseArgs<typeof config>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    console.error(`${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed.values;
}

/** A timestamped log line on stdout. */
export function log(message: string): void {
  console.log(`${new Date().toISOString().slice(11, 19)} ${message}`);
}

/** A Realmcast client for a Node program: ws for WebSockets, URL and token from flags or environment. */
export function connect(values: { url?: string; token?: string }, logger: (message: string) => void = log): RealmcastClient {
  const realm = createRealmcastClient({
    url: values.url ?? process.env.REALMCAST_URL ?? defaultUrl,
    token: values.token ?? process.env.REALMCAST_TOKEN,
    webSocketImpl: WebSocket,
    onResubscribe: ({ operationName, after }) => logger(`resuming ${operationName ?? 'subscription'}${after ? ` after ${after}` : ''}`),
  });
  realm.status.subscribe((status) => logger(`connection: ${status}`));
  return realm;
}

/** Resolves on the first SIGINT or SIGTERM. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

/** Whether the module at `moduleUrl` is the program being run (not imported by a test). */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}

/** Comma-separated list flag → array (undefined when absent or empty). */
export function list(value: string | undefined, transform: (item: string) => string = (item) => item): string[] | undefined {
  const items = value
    ?.split(',')
    .map((item) => transform(item.trim()))
    .filter(Boolean);
  return items?.length ? items : undefined;
}

/** Number flag with a default; exits with usage on garbage. */
export function numberFlag(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed)) {
    console.error(`--${name} must be a number, got "${value}"`);
    process.exit(2);
  }
  return parsed;
}
