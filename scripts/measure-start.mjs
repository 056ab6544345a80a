#!/usr/bin/env node
/**
 * Measures how long a server command takes until `/health` answers, and its
 * resident memory (the whole process tree) once it settled idle.
 *
 *   node scripts/measure-start.mjs [--settle-ms 10000] -- <command> [args…]
 *   node scripts/measure-start.mjs -- npm start
 *
 * Runs with a fresh DATA_DIR on a free port and the market simulator off.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

const separator = process.argv.indexOf('--');
const command = process.argv.slice(separator + 1);
if (separator < 0 || command.length === 0 || process.argv.includes('--help')) {
  console.log('Usage: node scripts/measure-start.mjs [--settle-ms N] -- <command> [args…]');
  process.exit(command.length ? 0 : 2);
}
const settleIndex = process.argv.indexOf('--settle-ms');
const settleMs = settleIndex > 0 && settleIndex < separator ? Number(process.argv[settleIndex + 1]) : 10_000;

const port = await new Promise((resolve) => {
  const probe = createServer().listen(0, '127.0.0.1', () => {
    const { port: free } = probe.address();
    probe.close(() => resolve(free));
  });
});
const dataDir = mkdtempSync(path.join(tmpdir(), 'realmcast-measure-'));
const started = performance.now();
const child = spawn(command[0], command.slice(1), {
  env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, MARKET_TICK_MS: '0', LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
  detached: true,
});

/** Resident set size of `pid` and all its descendants, in bytes (Linux /proc). */
function treeRss(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    try {
      const ppid = Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {}
  }
  let total = 0;
  const visit = (id) => {
    try {
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${id}/status`, 'utf8'));
      total += rss ? Number(rss[1]) * 1024 : 0;
    } catch {}
    for (const next of children.get(id) ?? []) visit(next);
  };
  visit(pid);
  return total;
}

try {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the command exited with ${child.exitCode}`);
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false);
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  const startMs = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, settleMs));
  console.log(JSON.stringify({ command: command.join(' '), startMs: Math.round(startMs), settledRssMB: Math.round(treeRss(child.pid) / 2 ** 20) }));
} finally {
  process.kill(-child.pid, 'SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}
