/**
 * `npm run bench`: fan-out of Realmcast against a raw `ws` broadcast (the
 * floor) and the plain graphql-yoga + graphql-ws recipe, each server in its
 * own process pinned to core 0, the load generator pinned to core 1. Prints
 * one table and writes it (with the machine it ran on) to
 * `bench/results/<date>-<label>.md` and `.json`.
 *
 *   npm run bench -- --help
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { caseTitle, connectionGroups, defaultCases, type BenchCase } from './cases.js';
import { killAllPeers, pinning, repoRoot, spawnPeer, type Peer } from './ipc.js';
import { serverKinds, type LoadgenCommands, type LoadResult, type ServerCommands, type ServerInfo, type ServerKind, type ServerOptions } from './protocol.js';
import { formatTable, type Row } from './report.js';
import { ensureBuilt } from '../scripts/builds.mjs';

const usage = `npm run bench -- [options]

  --cases <ids>        comma-separated, of: ${defaultCases.map((c) => c.id).join(', ')} (default: all)
  --servers <kinds>    comma-separated, of: ${serverKinds.join(', ')} (default: all)
  --connections <n>    N of every market case (default: per case, 1,000 or 5,000)
  --rate <n>           events (game: actions) per second of every case (default: per case)
  --duration <s>       measured publishing window (default 10)
  --drain <s>          longest wait for late messages after the window (default 15)
  --label <name>       results file bench/results/<date>-<label>.md/.json (default "run")
  --note <text>        a line for the results file (e.g. "shared machine")
  --out <dir>          where results go (default bench/results)
  --no-save            print only
  --redis-url <url>    Redis for the redis cases (default $REDIS_URL or redis://127.0.0.1:6379)
  --from-source        run Realmcast from its TypeScript sources (tsx) instead of the
                       compiled dist/ that npm start runs (built first when stale)
  --smoke              N=20, 2 s windows, every case but 5k (the same at N=20): checks that
                       the bench works, measures nothing; saves only with --out
`;

const { values: flags } = parseArgs({
  options: {
    cases: { type: 'string' },
    servers: { type: 'string' },
    connections: { type: 'string' },
    rate: { type: 'string' },
    duration: { type: 'string' },
    drain: { type: 'string' },
    label: { type: 'string', default: 'run' },
    note: { type: 'string', multiple: true, default: [] },
    out: { type: 'string' },
    'no-save': { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    smoke: { type: 'boolean', default: false },
    'from-source': { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (flags.help) {
  console.log(usage);
  process.exit(0);
}

const positive = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, not "${value}"`);
  return n;
};
const list = <T extends string>(name: string, value: string | undefined, known: readonly T[]): T[] | undefined => {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = items.filter((item) => !known.includes(item as T));
  if (unknown.length) throw new Error(`--${name}: unknown ${unknown.join(', ')} (known: ${known.join(', ')})`);
  return items as T[];
};

const smoke = flags.smoke;
const fromSource = flags['from-source'];
const durationS = positive('duration', flags.duration) ?? (smoke ? 2 : 10);
const drainS = positive('drain', flags.drain) ?? (smoke ? 10 : 15);
const connectionsOverride = positive('connections', flags.connections) ?? (smoke ? 20 : undefined);
const rateOverride = positive('rate', flags.rate);
const wantedCases = list('cases', flags.cases, defaultCases.map((c) => c.id)) ?? (smoke ? defaultCases.map((c) => c.id).filter((id) => id !== '5k') : undefined);
const wantedServers = list('servers', flags.servers, serverKinds);
const redisUrl = flags['redis-url'] ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const label = flags.label.replace(/[^\w.-]+/g, '-');

const cases: BenchCase[] = defaultCases
  .filter((c) => !wantedCases || wantedCases.includes(c.id))
  .map((c) => ({
    ...c,
    connections: c.workload === 'market' ? Math.round(connectionsOverride ?? c.connections) : c.connections,
    rate: rateOverride ?? c.rate,
    servers: c.servers.filter((s) => !wantedServers || wantedServers.includes(s)),
  }))
  .filter((c) => c.servers.length > 0);

/** Whatever happens, no server or load generator outlives the bench. */
process.on('exit', killAllPeers);
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    killAllPeers();
    process.exit(130);
  });
}

const clockTicks = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * A process's CPU time (user + system, all threads) in microseconds, from
 * the kernel's accounting in /proc: it needs nothing from the process's event
 * loop, which may be saturated. Elsewhere `fallback` asks the process (NaN
 * without one).
 */
async function cpuMicros(pid: number, fallback?: () => Promise<number>): Promise<number> {
  const stat = `/proc/${pid}/stat`;
  if (existsSync(stat)) {
    const fields = readFileSync(stat, 'utf8').split(')').pop()!.trim().split(' ');
    return ((Number(fields[11]) + Number(fields[12])) / clockTicks) * 1_000_000;
  }
  return fallback ? fallback() : Number.NaN;
}

interface Measurement {
  case: BenchCase;
  server: ServerKind;
  load: LoadResult;
  /** Server CPU over the window and drain, µs. */
  cpuMicros: number;
  /** Busy share of one core over the window and drain: the server's and the load generator's. */
  serverBusy: number;
  loadgenBusy: number;
  /** Seconds from the first to the last measured receipt's window start (≥ the publishing window). */
  deliverySeconds: number;
  heapPerConnection: number;
  publishSeconds: number;
  publishFailed: number;
  publishError?: string;
  published: Record<string, number>;
}

const verbose = process.env.BENCH_VERBOSE === '1';
const started = Date.now();
/** With BENCH_VERBOSE=1: when each phase of a measurement begins. */
const phase = (name: string) => verbose && process.stderr.write(`[${((Date.now() - started) / 1_000).toFixed(1)} s] ${name}\n`);

async function measure(benchCase: BenchCase, kind: ServerKind, redisPrefix: string): Promise<Measurement> {
  phase('server start');
  const options: ServerOptions = {
    kind,
    workload: benchCase.workload,
    players: benchCase.workload === 'game' ? benchCase.connections : undefined,
    ...(benchCase.redis ? { redisUrl, redisPrefix: `${redisPrefix}${benchCase.id}-${kind}:` } : {}),
    fromSource,
  };
  const server = await spawnPeer<ServerCommands>(`${kind} server`, 'bench/server.ts', [JSON.stringify(options)], { cpu: 0, nodeFlags: ['--expose-gc'] });
  let loadgen: Peer<LoadgenCommands> | undefined;
  try {
    const info = server.info as ServerInfo;
    const groups = connectionGroups(benchCase, info);
    const total = groups.reduce((sum, g) => sum + g.count, 0);
    phase('heap');
    const heapBefore = (await server.call('heap', {})).heapUsed;
    loadgen = await spawnPeer<LoadgenCommands>('load generator', 'bench/loadgen.ts', [], { cpu: 1, nodeFlags: ['--max-old-space-size=2048'] });
    phase('connect');
    await loadgen.call('connect', { url: info.url, groups, batchSize: 250 }, 300_000);

    // Every subscription is active once it received something: publish a
    // round (one event per key) until all have.
    phase('warm-up');
    let ready = 0;
    for (let round = 1; ready < total; round++) {
      if (round > 30) throw new Error(`only ${ready} of ${total} subscriptions became active`);
      await server.call('warmup', {});
      ready = (await loadgen.call('awaitFirst', { timeoutMs: 2_000 + total })).ready;
    }
    phase('quiet');
    if (!(await loadgen.call('quiet', { quietMs: 500, timeoutMs: 300_000 })).quiet) throw new Error('warm-up messages kept arriving');
    const heapPerConnection = ((await server.call('heap', {})).heapUsed - heapBefore) / total;

    phase('publish');
    const t0 = Date.now() + 300;
    const count = Math.max(1, Math.round(benchCase.rate * durationS));
    await loadgen.call('arm', { t0 });
    const publishing = server.call('publish', { t0, rate: benchCase.rate, count }, (durationS + 600) * 1_000);
    await sleep(t0 - Date.now());
    const serverCpu = () => cpuMicros(server.pid, async () => (await server.call('cpu', {})).cpuMicros);
    const cpuBefore = await serverCpu();
    const loadgenCpuBefore = await cpuMicros(loadgen.pid);
    const published = await publishing;
    phase('drain');
    const load = await loadgen.call('finish', { t1: published.t1, published: published.published, drainMs: drainS * 1_000, stallMs: 3_000 }, (drainS + 60) * 1_000);
    const cpuAfter = await serverCpu();
    const loadgenCpuAfter = await cpuMicros(loadgen.pid);
    const wallMicros = (Date.now() - t0) * 1_000;
    return {
      case: benchCase,
      server: kind,
      load,
      cpuMicros: cpuAfter - cpuBefore,
      serverBusy: (cpuAfter - cpuBefore) / wallMicros,
      loadgenBusy: (loadgenCpuAfter - loadgenCpuBefore) / wallMicros,
      deliverySeconds: Math.max(durationS, (load.lastReceipt - t0) / 1_000),
      heapPerConnection,
      publishSeconds: (published.t1 - t0) / 1_000,
      publishFailed: published.failed,
      publishError: published.firstError,
      published: published.published,
    };
  } finally {
    phase('stop');
    await loadgen?.stop();
    await server.call('dispose', {}, 10_000).catch(() => undefined);
    await server.stop();
    phase('stopped');
  }
}

function machine() {
  const git = (...args: string[]) => {
    try {
      return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    } catch {
      return undefined;
    }
  };
  const head = git('rev-parse', '--short', 'HEAD');
  return {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: availableParallelism(),
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadAverage: loadavg().map((n) => Math.round(n * 100) / 100),
    pinned: pinning(0).length > 0 ? 'servers on core 0, load generator on core 1 (taskset)' : 'not pinned (no taskset or one core)',
    realmcastBuild: fromSource ? 'TypeScript sources through tsx (--from-source)' : 'compiled dist/, as npm start runs it',
    commit: head ? `${head}${git('status', '--porcelain', '--', 'server') ? ' (server/ modified)' : ''}` : 'unknown (not a git checkout)',
  };
}

async function cleanRedis(prefix: string) {
  const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 1 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}

async function checkRedis() {
  const redis = new Redis(redisUrl, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 2_000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`the redis case needs Redis at ${redisUrl} (${(error as Error).message}): start it (bash scripts/services.sh), pass --redis-url, or leave it out with --cases`);
  } finally {
    redis.disconnect();
  }
}

/** Each side of N connections holds N sockets: refuse a run the open-file limit would break halfway. */
function checkFileLimit() {
  const needed = Math.max(...cases.map((c) => c.connections)) + 200;
  try {
    const limit = execFileSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).trim();
    if (limit !== 'unlimited' && Number(limit) < needed) throw new Error(`ulimit -n is ${limit}; N=${needed - 200} needs at least ${needed} (raise it with ulimit -n)`);
  } catch (error) {
    if ((error as Error).message.startsWith('ulimit')) throw error;
  }
}

async function main() {
  if (cases.length === 0) throw new Error('no case left to run');
  checkFileLimit();
  if (cases.some((c) => c.redis)) await checkRedis();
  // Realmcast runs as `npm start` runs it: compiled.
  if (!fromSource && cases.some((c) => c.servers.includes('realmcast'))) ensureBuilt(['server']);
  const redisPrefix = `realmcast-bench-${randomBytes(4).toString('hex')}:`;
  const info = machine();
  const command = `npm run bench -- ${process.argv.slice(2).map((a) => (/[\s"'$`]/.test(a) ? JSON.stringify(a) : a)).join(' ')}`.trim();
  console.log(`Realmcast bench: ${cases.map((c) => c.id).join(', ')}; ${durationS} s windows; ${info.pinned}`);

  const rows: Row[] = [];
  try {
    for (const benchCase of cases) {
      const measured: Measurement[] = [];
      for (const kind of benchCase.servers) {
        const m = await measure(benchCase, kind, redisPrefix);
        measured.push(m);
        console.log(`  ${caseTitle(benchCase)} · ${kind}: ${Math.round(m.load.received / m.deliverySeconds)} msg/s, p99 ${m.load.latency.p99} ms, lost ${m.load.lost}`);
      }
      const floor = measured.find((m) => m.server === 'ws');
      rows.push(...measured.map((m) => toRow(m, floor)));
    }
  } finally {
    if (cases.some((c) => c.redis)) await cleanRedis(redisPrefix).catch(() => undefined);
  }

  const table = formatTable(rows);
  console.log(`\n${table}`);
  const save = !flags['no-save'] && (!smoke || flags.out !== undefined);
  if (save) {
    const dir = path.resolve(flags.out ?? path.join(repoRoot, 'bench/results'));
    mkdirSync(dir, { recursive: true });
    const base = path.join(dir, `${info.date.slice(0, 10)}-${label}`);
    const settings = { durationS, drainS, smoke, cases: cases.map(({ id, connections, shapes, rate, redis, servers }) => ({ id, connections, shapes, rate, redis, servers })) };
    writeFileSync(`${base}.json`, `${JSON.stringify({ label, command, machine: info, settings, notes: flags.note, rows }, null, 2)}\n`);
    writeFileSync(`${base}.md`, resultsMarkdown(label, command, info, flags.note, table));
    console.log(`\nwritten: ${path.relative(process.cwd(), base)}.md and .json`);
  }
}

function toRow(m: Measurement, floor: Measurement | undefined): Row {
  const cpuPerMessage = m.load.received ? m.cpuMicros / m.load.received : Number.NaN;
  const floorCpu = floor?.load.received ? floor.cpuMicros / floor.load.received : Number.NaN;
  const notes: string[] = [];
  const clip = (text: string | undefined) => String(text).replace(/[|\n]+/g, ' ').slice(0, 160);
  if (m.publishSeconds > durationS * 1.1 + 0.5) notes.push(`publishing took ${m.publishSeconds.toFixed(1)} s of ${durationS}`);
  if (m.publishFailed) notes.push(`${m.publishFailed} publishes failed: ${clip(m.publishError)}`);
  // A load generator that used its core fully measured itself, not the server.
  if (m.loadgenBusy > 0.9) notes.push(`load generator busy ${Math.round(m.loadgenBusy * 100)}%`);
  if (m.load.misrouted) notes.push(`${m.load.misrouted} misrouted`);
  if (m.load.errors) notes.push(`${m.load.errors} errors: ${clip(m.load.firstError)}`);
  if (!m.load.complete && m.load.lost) notes.push(`not all delivered within ${drainS} s`);
  return {
    case: caseTitle(m.case),
    caseId: m.case.id,
    server: m.server,
    connections: m.load.connections,
    offeredPerSecond: m.load.expected / durationS,
    deliveredPerSecond: m.load.received / m.deliverySeconds,
    p50Ms: m.load.latency.p50,
    p99Ms: m.load.latency.p99,
    maxMs: m.load.latency.max,
    expected: m.load.expected,
    received: m.load.received,
    lost: m.load.lost,
    misrouted: m.load.misrouted,
    errors: m.load.errors,
    cpuMicrosPerMessage: cpuPerMessage,
    heapBytesPerConnection: m.heapPerConnection,
    cpuVsWs: cpuPerMessage / floorCpu,
    p99VsWs: floor ? m.load.latency.p99 / floor.load.latency.p99 : Number.NaN,
    heapVsWs: floor ? m.heapPerConnection / floor.heapPerConnection : Number.NaN,
    publishSeconds: m.publishSeconds,
    serverBusy: m.serverBusy,
    loadgenBusy: m.loadgenBusy,
    notes,
  };
}

function resultsMarkdown(label: string, command: string, info: ReturnType<typeof machine>, notes: string[], table: string) {
  return `# Bench: ${label}

\`${command}\`

- date: ${info.date}
- machine: ${info.cpu}, ${info.cores} cores, ${info.memoryGiB} GiB; ${info.platform}; node ${info.node}
- load average at start: ${info.loadAverage.join(', ')}
- ${info.pinned}
- Realmcast: ${info.realmcastBuild}
- commit: ${info.commit}
${notes.map((n) => `- note: ${n}`).join('\n')}

${table}

How to read it (see docs/performance.md): *offered* is what the window's
publishes should deliver, *delivered* what arrived per second (until the last
measured receipt); latency is from the event's \`at\` (set in the
transaction that commits it, same machine clock) to receipt; *lost* is what had not arrived
${drainS} s after the window; CPU is the server process's CPU time from the
window's start until the load generator stopped waiting, per delivered
message; heap is \`heapUsed\` after a forced GC with every connection
subscribed and idle, minus before any connection, per connection. The
ratios compare with the raw \`ws\` row of the same case and run.
`;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  killAllPeers();
  process.exit(1);
});
