/**
 * CI has no container engine, so this test runs the Dockerfile itself, step
 * by step, on a copy of the repository: the build stage's COPY and RUN
 * instructions (install, build, prune dev dependencies), then the runtime
 * stage's `COPY --from=build` into a separate tree with its ENV, and its CMD
 * started from that tree. Then it checks `/`, `/graphql` and a subscription.
 *
 * One liberty: `npm ci` runs with `--prefer-offline --ignore-scripts` and
 * better-sqlite3's native build is copied from this checkout instead of
 * compiled again (the same source, the same machine; compiling takes
 * minutes). Everything else is the instruction as written.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { gql, onTeardown, subscribe, wsClient } from '../support/harness.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

interface Instruction {
  stage: string;
  op: string;
  args: string;
}

/** The Dockerfile's instructions, with the stage each belongs to (continuation lines joined, comments dropped). */
function instructions(): Instruction[] {
  const text = readFileSync(path.join(root, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  let stage = '';
  const result: Instruction[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (!line || line.startsWith('#')) continue;
    const [, op = '', args = ''] = /^(\w+)\s+(.*)$/.exec(line) ?? [];
    if (op === 'FROM') stage = / AS (\w+)$/i.exec(args)?.[1] ?? '';
    result.push({ stage, op, args });
  }
  return result;
}

/** Files `COPY . .` sends: tracked and untracked, minus what .gitignore and .dockerignore leave out. */
async function contextFiles(): Promise<string[]> {
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: root, maxBuffer: 64 * 2 ** 20 });
  const ignored = readFileSync(path.join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const matches = (file: string, pattern: string) =>
    pattern.startsWith('*.') ? file.endsWith(pattern.slice(1)) : file === pattern || file.startsWith(`${pattern}/`);
  return stdout.split('\0').filter((file) => file && existsSync(path.join(root, file)) && !ignored.some((p) => matches(file, p)));
}

/** A temporary directory for a whole tree with node_modules: removed after the file, with time for that. */
function bigTempDir(name: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `realmcast-docker-${name}-`));
  afterAll(() => rm(dir, { recursive: true, force: true }), 300_000);
  return dir;
}

const sh = (command: string, cwd: string) => run('sh', ['-c', command], { cwd, maxBuffer: 64 * 2 ** 20, env: { ...process.env, CI: 'true', NODE_ENV: '' } });

describe('Dockerfile', () => {
  it('should build, prune and run the compiled server from the runtime stage, serving /, /graphql and subscriptions', async () => {
    const all = instructions();
    const build = bigTempDir('build');
    const runtime = bigTempDir('runtime');

    // Build stage.
    for (const { op, args } of all.filter((i) => i.stage === 'build')) {
      if (op === 'WORKDIR' || op === 'FROM') continue;
      if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const destination = parts.pop()!;
        const sources = parts[0] === '.' ? await contextFiles() : parts;
        for (const source of sources) {
          const target = destination.endsWith('/') || parts[0] === '.' ? path.join(build, parts[0] === '.' ? source : destination, parts[0] === '.' ? '' : path.basename(source)) : path.join(build, destination);
          mkdirSync(path.dirname(target), { recursive: true });
          cpSync(path.join(root, source), target, { recursive: true });
        }
      } else if (op === 'RUN' && args.startsWith('npm ci')) {
        await sh(`${args} --prefer-offline --ignore-scripts`, build);
        cpSync(path.join(root, 'node_modules/better-sqlite3/build'), path.join(build, 'node_modules/better-sqlite3/build'), { recursive: true });
      } else if (op === 'RUN') {
        await sh(args, build);
      } else throw new Error(`unhandled build instruction ${op} ${args}`);
    }
    expect(existsSync(path.join(build, 'node_modules', 'typescript'))).toBe(false); // dev dependencies pruned
    expect(existsSync(path.join(build, 'dist', 'server', 'main.js'))).toBe(true);

    // Runtime stage: only what it copies from the build stage.
    const env: Record<string, string> = {};
    let command: string[] = [];
    for (const { op, args } of all.filter((i) => i.stage === 'runtime')) {
      if (op === 'COPY') {
        const parts = args.split(/\s+/).filter((p) => !p.startsWith('--'));
        const destination = parts.pop()!;
        for (const source of parts) {
          const relative = path.relative('/app', source);
          const into = path.join(runtime, path.relative('/app', path.resolve('/app', destination)));
          const target = destination.endsWith('/') ? path.join(into, path.basename(relative)) : into;
          mkdirSync(path.dirname(target), { recursive: true });
          // Moved, not copied: the build stage is not needed any more, and node_modules is large.
          renameSync(path.join(build, relative), target);
        }
      } else if (op === 'ENV') {
        for (const [, name, value] of args.matchAll(/(\w+)=(\S+)/g)) env[name!] = value!;
      } else if (op === 'CMD') command = JSON.parse(args) as string[];
    }
    expect(existsSync(path.join(runtime, 'server'))).toBe(false); // no TypeScript sources in the image
    const dataDir = path.join(runtime, 'data');
    mkdirSync(dataDir, { recursive: true });

    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as AddressInfo;
        probe.close(() => resolve(free));
      });
    });
    const child = spawn(command[0] === 'node' ? process.execPath : command[0]!, command.slice(1), {
      cwd: runtime,
      env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, JWT_SECRET: 'd'.repeat(40), GUEST_SIGNIN: 'true', MARKET_TICK_MS: '0', LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTeardown(() => child.kill('SIGTERM'));
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('Dashboard: ')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`server exited with ${code}:\n${log}`)));
    });
    expect(log).toMatch(/GraphiQL: http:\/\/127\.0\.0\.1:\d+\/graphql/);
    expect(log).toMatch(/Dashboard: http:\/\/127\.0\.0\.1:\d+\//);

    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toMatch(/<script type="module"[^>]+src="\/assets\//); // the built dashboard, not the "not built" page
    const url = `${base}/graphql`;
    const { data } = await gql(url, '{ stocks { symbol } }');
    expect(data!.stocks.length).toBeGreaterThan(0);
    const token = (await gql(url, 'mutation { signIn(name: "Docker") { token } }')).data!.signIn.token as string;
    const feed = subscribe(wsClient(url), 'subscription { worldEvents { message } }');
    // Announcing needs a game master: sign one with the configured secret through the image's own `npm run token`.
    const { stdout: gmToken } = await run(process.execPath, ['scripts/run-built.mjs', 'token', '--role', 'GAME_MASTER', '--name', 'ops'], {
      cwd: runtime,
      env: { ...process.env, ...env, DATA_DIR: dataDir, JWT_SECRET: 'd'.repeat(40) },
    });
    expect(token).not.toBe(gmToken.trim());
    // The subscription is live once the server has seen it; retry the announcement until it arrives.
    let received: string | undefined;
    for (let attempt = 0; !received && attempt < 50; attempt++) {
      await gql(url, 'mutation ($m: String!) { announceWorldEvent(message: $m) { id } }', { m: `from the image ${attempt}` }, gmToken.trim());
      received = await feed.next(200).then((event) => event.worldEvents.message as string, () => undefined);
    }
    expect(received).toMatch(/^from the image/);
  }, 600_000);
});
