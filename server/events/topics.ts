/**
 * The one typed topic map of Realmcast's pub/sub. Every publish and every
 * subscribe goes through these names; the engine (in-process or Redis) only
 * ever sees `${prefix}${topic}:${id}` channels built from them.
 */
/** A player as carried inside events (a snapshot, not a live reference). */
export interface PlayerRef {
  id: string;
  name: string;
  role: string;
}

/** A faction as carried inside events. */
export interface FactionRef {
  id: string;
  name: string;
  influence: number;
  lastChange: number;
}

/** A scenario as carried inside events. */
export interface ScenarioRef {
  id: string;
  theme: string;
  prompt: string;
  choices: { id: string; label: string }[];
}

/** A filled order as carried inside events and stored in `trades` (money in cents). */
export interface TradeRef {
  id: string;
  playerId: string;
  symbol: string;
  side: 'BUY' | 'SELL';
  quantity: number;
  priceCents: number;
  strategy: string;
  /** Profit or loss the trade locked in (sales only; 0 for buys). */
  realizedCents: number;
  at: string;
}

/** A holding as carried inside live views (money in whole units, as the schema shows it). */
export interface PositionView {
  symbol: string;
  quantity: number;
  averageCost: number;
  marketValue: number;
  unrealizedPnl: number;
}

/** P&L of one strategy (the trades placed under its label). */
export interface StrategyView {
  strategy: string;
  realizedPnl: number;
  unrealizedPnl: number;
  totalPnl: number;
  trades: number;
  wins: number;
  losses: number;
  /** Wins ÷ (wins + losses); null before the first sale that won or lost. */
  winRate: number | null;
  positions: PositionView[];
}

/** What `pnlTicked` sends: the owner's live P&L, valued once per player by the recorder. */
export interface PnlTickView {
  playerId: string;
  at: string;
  totalValue: number;
  totalPnl: number;
  todayPnl: number;
  realizedPnl: number;
  unrealizedPnl: number;
  drawdown: number;
  strategies: StrategyView[];
}

/** Payload of each event type, by the name stored in the log's `type` column. */
export interface EventPayloads {
  StockTicked: { symbol: string; price: number; change: number; changePercent: number };
  FactionInfluenceChanged: { faction: FactionRef; delta: number; reason: string };
  WorldEvent: { kind: string; message: string; severity: 'INFO' | 'WARNING' | 'CRITICAL' };
  PlayerJoined: { player: PlayerRef };
  /** `newHost` is set when the host left and the role passed on; `remainingPlayers` 0 means the game finished. */
  PlayerLeft: { player: PlayerRef; newHost: PlayerRef | null; remainingPlayers: number };
  PlayerConnected: { player: PlayerRef };
  PlayerDisconnected: { player: PlayerRef };
  ChoiceSubmitted: {
    player: PlayerRef;
    turnNumber: number;
    choicesSubmitted: number;
    totalPlayers: number;
    allSubmitted: boolean;
    waitingFor: PlayerRef[];
  };
  /** `choiceId` is the winning choice (null when nobody chose); `resolvedBy` who forced it (null when everyone had chosen). */
  TurnResolved: {
    turnNumber: number;
    outcome: string;
    choiceId: string | null;
    scenarioId: string;
    votes: { choiceId: string; count: number }[];
    resolvedBy: PlayerRef | null;
  };
  ScenarioStarted: { turnNumber: number; scenario: ScenarioRef };
  PlayerTyping: { player: PlayerRef; typing: boolean };
  TradeExecuted: TradeRef;
}

export type EventType = keyof EventPayloads;

/**
 * One event of a stream. `seq` is its position in the stream's log; `null`
 * marks an ephemeral event (typing) that is published but never stored.
 */
export type StreamEvent<T extends EventType = EventType> = {
  [K in T]: { stream: string; seq: number | null; type: K; payload: EventPayloads[K]; at: string };
}[T];

/** A stored event: always has a sequence number. */
export type LogEntry<T extends EventType = EventType> = StreamEvent<T> & { seq: number };

/** Names of the event streams, each with its own sequence and cursors. */
export const Streams = {
  market: 'market',
  factions: 'factions',
  world: 'world',
  game: (code: string) => `game:${code}`,
  /** One player's fills (only that player may follow it). */
  trades: (playerId: string) => `trades:${playerId}`,
} as const;

/** Routing id of topics that have one channel for the whole world. */
export const everyone = '*';

/** The topic map: topic name → [routing id, payload]. */
export interface TopicMap {
  /** Every event of a stream, stored or ephemeral, routed by stream name. */
  streamEvent: StreamEvent;
  /** A player's holdings changed through their own trade; routed by player id. */
  portfolioChanged: { playerId: string };
  /** Presence of a game changed; routed by game code. */
  presenceChanged: { code: string };
  /** Some player traded; routed by {@link everyone} (the P&L recorder marks them to value). */
  playerTraded: { playerId: string; /** The strategy that traded (the recorder records recently traded strategies every second). */ strategy?: string };
  /** A player's live P&L, valued once by the recorder; routed by player id. */
  pnlTicked: PnlTickView;
}

export type Topic = keyof TopicMap;
