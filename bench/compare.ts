/**
 * `npm run bench:compare -- <before.json> <after.json>`: two bench results
 * side by side, row by row (case and server), as a Markdown table. The
 * `×ws` ratios are the figures to compare across runs: each is taken
 * against the raw `ws` floor of its own run, so machine noise cancels out
 * better than in absolute figures.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Row } from './report.js';

interface Results {
  label: string;
  rows: Row[];
}

const usage = 'usage: npm run bench:compare -- <before.json> <after.json>   (results files of npm run bench; --help prints this)';
const files = process.argv.slice(2);
if (files.includes('--help')) {
  console.log(usage);
  process.exit(0);
}
if (files.length !== 2) {
  console.error(usage);
  process.exit(2);
}
const [before, after] = files.map((file) => ({ ...(JSON.parse(readFileSync(file, 'utf8')) as Results), file: path.basename(file) })) as [
  Results & { file: string },
  Results & { file: string },
];

const fixed = (digits: number) => (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n.toFixed(digits));
const columns: Array<[string, (r: Row) => number, (n: number | undefined) => string]> = [
  ['delivered/offered', (r) => r.deliveredPerSecond / r.offeredPerSecond, fixed(2)],
  ['p99 ms', (r) => r.p99Ms, fixed(1)],
  ['lost', (r) => r.lost, fixed(0)],
  ['CPU µs/msg', (r) => r.cpuMicrosPerMessage, fixed(1)],
  ['CPU ×ws', (r) => r.cpuVsWs, fixed(2)],
  ['p99 ×ws', (r) => r.p99VsWs, fixed(2)],
  ['heap KB/conn', (r) => r.heapBytesPerConnection / 1_024, fixed(1)],
];

const key = (r: Row) => `${r.caseId}/${r.server}`;
const beforeRows = new Map(before.rows.map((r) => [key(r), r]));
const afterRows = new Map(after.rows.map((r) => [key(r), r]));
const keys = [...new Set([...beforeRows.keys(), ...afterRows.keys()])];

const header = ['case', 'server', ...columns.map(([name]) => `${name} (before → after)`)];
const lines = keys.map((k) => {
  const a = beforeRows.get(k);
  const b = afterRows.get(k);
  const sample = (a ?? b)!;
  return [sample.case, sample.server, ...columns.map(([, value, format]) => `${format(a && value(a))} → ${format(b && value(b))}`)];
});
console.log(`before: ${before.file} (${before.label}); after: ${after.file} (${after.label})\n`);
console.log([header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n'));
