/** One line of the bench table; the JSON results hold these as they are. */
export interface Row {
  case: string;
  caseId: string;
  server: string;
  connections: number;
  offeredPerSecond: number;
  deliveredPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  expected: number;
  received: number;
  lost: number;
  misrouted: number;
  errors: number;
  cpuMicrosPerMessage: number;
  heapBytesPerConnection: number;
  /** Ratios to the raw `ws` row of the same case (NaN when it did not run). */
  cpuVsWs: number;
  p99VsWs: number;
  heapVsWs: number;
  publishSeconds: number;
  /** Share of one core the server and the load generator used from the window's start to the end of the drain. */
  serverBusy: number;
  loadgenBusy: number;
  notes: string[];
}

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

const show = (n: number, format: Intl.NumberFormat) => (Number.isFinite(n) ? format.format(n) : '–');
const ratio = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : '–');

/** The bench table in Markdown; one row per case and server. */
export function formatTable(rows: readonly Row[]): string {
  const header = ['case', 'server', 'conns', 'offered msg/s', 'delivered msg/s', 'p50 ms', 'p99 ms', 'lost', 'CPU µs/msg', 'server core %', 'heap KB/conn', 'CPU ×ws', 'p99 ×ws', 'heap ×ws', 'notes'];
  const lines = rows.map((r) => [
    r.case,
    r.server,
    integer.format(r.connections),
    show(r.offeredPerSecond, integer),
    show(r.deliveredPerSecond, integer),
    show(r.p50Ms, oneDecimal),
    show(r.p99Ms, oneDecimal),
    integer.format(r.lost),
    show(r.cpuMicrosPerMessage, oneDecimal),
    show(r.serverBusy * 100, integer),
    show(r.heapBytesPerConnection / 1_024, oneDecimal),
    r.server === 'ws' ? '1×' : ratio(r.cpuVsWs),
    r.server === 'ws' ? '1×' : ratio(r.p99VsWs),
    r.server === 'ws' ? '1×' : ratio(r.heapVsWs),
    r.notes.join('; '),
  ]);
  return [header, header.map(() => '---'), ...lines].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}
