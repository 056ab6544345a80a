import type { Generated } from 'kysely';

/**
 * Table types of the Realmcast store, in camelCase (Kysely's CamelCasePlugin
 * maps them to snake_case columns). Timestamps are ISO-8601 strings so both
 * SQLite and PostgreSQL store and sort them the same way.
 */
export interface Database {
  players: { id: string; name: string; role: string; createdAt: string };
  stocks: {
    symbol: string;
    name: string;
    priceCents: number;
    /** Reference price `change` and `changePercent` are measured against (the session open), in cents. */
    openPriceCents: number;
    volume: number;
    updatedAt: string;
  };
  priceHistory: { id: Generated<number>; symbol: string; priceCents: number; at: string };
  /** Money is in integer cents everywhere (`…Cents`), so sums are exact. */
  accounts: { playerId: string; cashCents: number };
  /** Holdings per strategy; `costCents` is what the shares still held cost (the cost basis). */
  positions: { playerId: string; strategy: string; symbol: string; quantity: number; costCents: number };
  /** Per strategy: realized P&L and trade counts (a win is a sale above cost, a loss one below). */
  strategies: { playerId: string; strategy: string; realizedCents: number; trades: number; wins: number; losses: number };
  /** `seq` is the trade's position in the player's trade stream (`trades:<playerId>` in the event log). */
  trades: {
    id: string;
    playerId: string;
    symbol: string;
    side: string;
    quantity: number;
    priceCents: number;
    strategy: string;
    realizedCents: number;
    seq: number;
    at: string;
  };
  /**
   * P&L over time per player and strategy (`*` = the whole account), one row
   * per bucket of a resolution (`s`, `m`, `h`, `d`; `bucket` = its start in
   * epoch seconds): the P&L at the first, highest, lowest and last recording
   * in the bucket.
   */
  pnlSeries: {
    playerId: string;
    strategy: string;
    resolution: string;
    bucket: number;
    openCents: number;
    highCents: number;
    lowCents: number;
    closeCents: number;
  };
  factions: { id: string; name: string; influence: number; lastChange: number; updatedAt: string };
  games: {
    code: string;
    name: string;
    status: string;
    maxPlayers: number;
    turnNumber: number;
    hostId: string;
    scenarioId: string | null;
    createdAt: string;
  };
  gamePlayers: { code: string; playerId: string; joinedAt: string; lastSeenAt: string | null };
  choices: { code: string; turnNumber: number; playerId: string; choiceId: string; at: string };
  turns: { code: string; turnNumber: number; outcome: string; resolvedAt: string };
  /** Last sequence number handed out per event stream; its row lock orders appends. */
  streams: { stream: string; lastSeq: number };
  /** The event log: every published event, per stream, in commit order. */
  events: { stream: string; seq: number; type: string; payload: string; at: string };
  /** Moves turns applied to a stock (`stock:<symbol>`, percent) or faction (`faction:<id>`, points). */
  turnEffects: { target: string; amount: number; at: string };
  /** The trade a player's order with an idempotency key produced. */
  orderKeys: { playerId: string; key: string; tradeId: string; at: string };
}
