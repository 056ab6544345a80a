/**
 * `npm run bench -- --smoke` end to end: every case against every server,
 * with a handful of connections. It checks that the bench works and that
 * every server delivers everything it published, exactly once, to the right
 * subscribers; it asserts nothing about speed (that is what the bench's
 * table is for).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Row } from '../../bench/report.js';
import { onTeardown } from '../support/harness.js';
import { repoRoot, servicesAvailable } from '../support/scale.js';

interface Results {
  rows: Row[];
}

/** Runs a bench CLI; resolves with its exit code and output. */
function runBench(args: string[], script = 'bench/run.ts'): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    onTeardown(() => child.kill('SIGKILL'));
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('npm run bench -- --smoke', () => {
  it('should run every case against every server and report every message delivered once', async () => {
    const out = mkdtempSync(path.join(tmpdir(), 'realmcast-bench-'));
    onTeardown(() => rmSync(out, { recursive: true, force: true }));
    // The Redis case needs the machine's Redis: a failure under CI, a narrower smoke elsewhere.
    const redis = await servicesAvailable({ redis: true });
    const cases = redis ? ['1k', '50-shapes', 'redis-1k', 'game'] : ['1k', '50-shapes', 'game'];

    // From source: the compiled build (what `npm run bench` runs) would cost a `tsc` run here.
    const { code, output } = await runBench(['--smoke', '--from-source', '--out', out, '--label', 'smoke', '--cases', cases.join(',')]);
    expect(code, output).toBe(0);

    const file = readdirSync(out).find((name) => name.endsWith('-smoke.json'));
    expect(file, output).toBeDefined();
    const { rows } = JSON.parse(readFileSync(path.join(out, file!), 'utf8')) as Results;
    const expectedRuns = cases.flatMap((id) => (id === 'game' ? [`${id}/realmcast`] : ['ws', 'yoga', 'realmcast'].map((s) => `${id}/${s}`)));
    expect(rows.map((r) => `${r.caseId}/${r.server}`)).toEqual(expectedRuns);
    for (const row of rows) {
      const where = `${row.caseId}/${row.server}: ${row.notes.join('; ')}`;
      expect(row.received, where).toBeGreaterThan(0);
      expect(row.received, where).toBe(row.expected);
      expect(row.lost, where).toBe(0);
      expect(row.misrouted, where).toBe(0);
      expect(row.errors, where).toBe(0);
      expect(row.cpuMicrosPerMessage, where).toBeGreaterThan(0);
    }
    // The table is in the Markdown file too, next to the machine it ran on.
    const markdown = readFileSync(path.join(out, file!.replace(/\.json$/, '.md')), 'utf8');
    expect(markdown).toContain('| case | server |');
    expect(markdown).toMatch(/node v\d+/);

    // Before/after side by side: every row of both files, matched by case and server.
    const compared = await runBench([path.join(out, file!), path.join(out, file!)], 'bench/compare.ts');
    expect(compared.code, compared.output).toBe(0);
    for (const row of rows) expect(compared.output).toContain(`| ${row.case} | ${row.server} |`);
  }, 300_000);
});
