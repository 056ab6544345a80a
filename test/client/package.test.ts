import { execFile, spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { gql, listening, startServer, tempDataDir } from '../support/harness.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const versionOf = (name: string) => (JSON.parse(readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** A small Node program as a user of the package writes it: typed documents, the client, a live subscription. */
const program = `import WebSocket from 'ws';
import { createRealmcastClient, type ConnectionStatus } from '@realmcast/client';
import { MarketTickerDocument, StocksDocument, type MarketTickerSubscription } from '@realmcast/client/generated';

const [url, symbol] = process.argv.slice(2) as [string, string];
const realm = createRealmcastClient({ url, webSocketImpl: WebSocket, maxRetries: 3 });
const { data } = await realm.client.query({ query: StocksDocument });
const status: ConnectionStatus = await realm.status.when('connected');
const tick = await new Promise<MarketTickerSubscription['stockTicked']>((resolve, reject) => {
  const subscription = realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: [symbol] } }).subscribe({
    next: (result) => {
      if (!result.data) return;
      subscription.unsubscribe();
      resolve(result.data.stockTicked);
    },
    error: reject,
  });
  console.log('subscribed');
});
// The generated types are real: a wrong variable type does not compile.
// @ts-expect-error symbols is a list of strings
realm.client.subscribe({ query: MarketTickerDocument, variables: { symbols: 42 } });
console.log(JSON.stringify({ stocks: data?.stocks.length, status, symbol: tick.symbol, price: tick.price }));
await realm.dispose();
`;

describe('@realmcast/client as a package', () => {
  it('should pack, install into a fresh project, type-check and run against a live server', async () => {
    const app = await startServer();
    const gm = await app.token('GAME_MASTER');
    const project = tempDataDir();

    await run('npm', ['pack', '--pack-destination', project], { cwd: path.join(root, 'client') });
    const tarball = readdirSync(project).find((name) => name.endsWith('.tgz'))!;
    expect(tarball).toMatch(/^realmcast-client-\d+\.\d+\.\d+\.tgz$/);

    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({
        name: 'realmcast-consumer',
        private: true,
        type: 'module',
        dependencies: {
          '@realmcast/client': `file:./${tarball}`,
          // The peers, at the versions this repository uses (already in the npm cache).
          '@apollo/client': versionOf('@apollo/client'),
          graphql: versionOf('graphql'),
          rxjs: versionOf('rxjs'),
          ws: versionOf('ws'),
        },
        devDependencies: { '@types/ws': versionOf('@types/ws'), '@types/node': versionOf('@types/node') },
      }),
    );
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, outDir: 'out', types: ['node'], skipLibCheck: true, lib: ['ES2023', 'DOM'] },
        include: ['main.ts'],
      }),
    );
    mkdirSync(path.join(project, 'out'));
    writeFileSync(path.join(project, 'main.ts'), program);
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });

    // Type-checks (against the shipped declarations only) and compiles.
    await run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: project }).catch(
      (error: { stdout: string }) => {
        throw new Error(`tsc failed:\n${error.stdout}`);
      },
    );

    const child = spawn(process.execPath, ['out/main.js', app.url, 'SHIP'], { cwd: project, stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('subscribed')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code} before subscribing: ${output}`)));
    });
    await listening(app, 'streamEvent', 'market');
    await gql(app.url, 'mutation { setStockPrice(symbol: "SHIP", price: 42.5) { price } }', {}, gm);
    expect(await exited).toBe(0);
    const result = JSON.parse(output.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(result).toEqual({ stocks: expect.any(Number), status: 'connected', symbol: 'SHIP', price: 42.5 });
    expect(result.stocks).toBeGreaterThan(0);
  }, 300_000);
});
