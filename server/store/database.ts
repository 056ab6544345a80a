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
    price: number;
    /** Reference price `change` and `changePercent` are measured against (the session open). */
    openPrice: number;
    volume: number;
    updatedAt: string;
  };
  priceHistory: { id: Generated<number>; symbol: string; price: number; at: string };
  accounts: { playerId: string; cash: number; realizedPnl: number };
  positions: { playerId: string; symbol: string; quantity: number; averageCost: number };
  trades: { id: string; playerId: string; symbol: string; side: string; quantity: number; price: number; at: string };
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
}
