/**
 * Telegram messages of the bot, as Telegram HTML (`parse_mode: 'HTML'`).
 * Everything that comes from the game world (event messages, game names,
 * outcomes, faction names) goes through {@link escapeHtml}: Telegram refuses a
 * message whose HTML does not parse, and a stray `<` in a world event must not
 * turn into markup. Prices sit in `<pre>` blocks so their columns line up on a
 * phone; moves carry an arrow and a sign.
 */
import type { FactionsQuery, Severity, StocksQuery, WorldEventsQuery } from '../../generated/graphql.js';

/** Telegram's limit on a message's text, in characters after entities are parsed. */
export const telegramMessageLimit = 4096;

/** One item of a message longer than this is cut (world event messages are at most 500 characters). */
export const maxItemLength = 1_000;

/** Escapes the three characters Telegram HTML gives a meaning to. */
export function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** `text` escaped and, when longer than `limit` characters, cut with an ellipsis. */
export function escapeClipped(text: string, limit = maxItemLength): string {
  return escapeHtml(text.length > limit ? `${text.slice(0, limit - 1)}…` : text);
}

/** The length Telegram counts for an HTML message: tags removed, entities as one character. */
export function visibleLength(html: string): number {
  return html.replace(/<[^>]*>/g, '').replace(/&(amp|lt|gt|quot|#\d+);/g, '_').length;
}

/** ▲ for a rise, ▼ for a fall, • for no move. */
export function arrow(change: number): string {
  return change > 0 ? '▲' : change < 0 ? '▼' : '•';
}

/** A number with its sign (`+2.50`, `-0.40`, `0.00`). */
export function signed(value: number, digits = 2): string {
  const text = Math.abs(value).toFixed(digits);
  if (Number(text) === 0) return (0).toFixed(digits);
  return `${value > 0 ? '+' : '-'}${text}`;
}

/** `12:04 UTC` */
export function clock(at: number | string, withSeconds = false): string {
  return `${new Date(at).toISOString().slice(11, withSeconds ? 19 : 16)} UTC`;
}

export type StockRow = Pick<StocksQuery['stocks'][number], 'symbol' | 'price' | 'change' | 'changePercent'>;

/** One `<pre>` line per stock: `IRON     45.00 ▲ +2.50 +5.9%`. */
export function marketTable(stocks: readonly StockRow[]): string {
  const lines = stocks.map((s) => {
    const move = `${arrow(s.change)} ${signed(s.change)} ${signed(s.changePercent, 1)}%`;
    return `${s.symbol.padEnd(6)}${s.price.toFixed(2).padStart(9)} ${move}`;
  });
  return `<pre>${escapeHtml(lines.join('\n'))}</pre>`;
}

/** The live market message: every price with its change, and until when it stays live. */
export function liveMarketMessage(stocks: readonly StockRow[], state: { until: number; updatedAt?: number; ended?: string }): string {
  const footer = state.ended
    ? `⏹ ${escapeHtml(state.ended)}`
    : `Live until ${clock(state.until)} · /stop to end${state.updatedAt ? ` · updated ${clock(state.updatedAt, true)}` : ''}`;
  return `📊 <b>Live market</b>\n${marketTable(stocks)}\n<i>${footer}</i>`;
}

/** Every faction with its influence, strongest first, and its last change. */
export function factionsMessage(factions: FactionsQuery['factions']): string {
  const sorted = [...factions].sort((a, b) => b.influence - a.influence);
  const lines = sorted.map((f) => {
    const bar = '█'.repeat(Math.max(0, Math.min(10, Math.round(f.influence / 10)))).padEnd(10, '░');
    return `${bar} ${f.influence.toFixed(1).padStart(5)} ${arrow(f.lastChange)} ${signed(f.lastChange, 1)}  ${f.name}`;
  });
  return `🏰 <b>Factions</b>\n<pre>${escapeHtml(lines.join('\n'))}</pre>`;
}

const severityIcon: Record<Severity, string> = { INFO: 'ℹ️', WARNING: '⚠️', CRITICAL: '🚨' };

/** A world event: `🚨 <b>CRITICAL</b> A dragon is sighted · <i>alert</i>`. */
export function worldEventLine(event: Pick<WorldEventsQuery['worldEvents'][number], 'severity' | 'message' | 'kind'>): string {
  return `${severityIcon[event.severity]} <b>${event.severity}</b> ${escapeClipped(event.message)} · <i>${escapeClipped(event.kind, 60)}</i>`;
}

/** The newest world events, for the "World events" button. */
export function recentEventsMessage(events: WorldEventsQuery['worldEvents']): string {
  if (events.length === 0) return '🌍 No world events yet.\n\nSend /events on to have them posted here.';
  return `🌍 <b>Latest world events</b>\n${events.map(worldEventLine).join('\n')}\n\nSend /events on to have them posted here (/events important: only WARNING and CRITICAL).`;
}

/** A watch alert: `🔔 IRON ▲ +5.9% 42.50 → 45.00 (watch: 5%)`. */
export function watchAlert(symbol: string, reference: number, price: number, percent: number): string {
  const move = ((price - reference) / reference) * 100;
  return `🔔 <b>${escapeHtml(symbol)}</b> ${arrow(move)} ${signed(move, 1)}%  ${reference.toFixed(2)} → ${price.toFixed(2)} <i>(watch: ${percent}%)</i>`;
}

/** A resolved turn of a followed game. */
export function turnResultMessage(game: { code: string; name: string }, turnNumber: number, outcome: string, choice?: string | null): string {
  const chosen = choice ? `\nChosen: <i>${escapeClipped(choice, 200)}</i>` : '';
  return `🎲 <b>${escapeClipped(game.name, 80)}</b> (${escapeHtml(game.code)}) · turn ${turnNumber}\n${escapeClipped(outcome)}${chosen}`;
}

/** The game ended: its last player left. */
export function gameOverMessage(game: { code: string; name: string }): string {
  return `🏁 <b>${escapeClipped(game.name, 80)}</b> (${escapeHtml(game.code)}) is over: its last player left. No longer following it.`;
}

/**
 * Joins items into as few messages as fit Telegram's limit, in order; returns
 * how many of `items` the first message takes (at least one: a single item is
 * already clipped well under the limit).
 */
export function firstBatch(items: readonly string[], separator = '\n\n', limit = telegramMessageLimit): number {
  let length = 0;
  let count = 0;
  for (const item of items) {
    const added = visibleLength(item) + (count ? separator.length : 0);
    if (count > 0 && length + added > limit) break;
    length += added;
    count += 1;
  }
  return count;
}
