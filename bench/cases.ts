import type { ConnectionGroup, ServerInfo, ServerKind, Workload } from './protocol.js';

/** One scenario of the bench, run against each of its servers in turn. */
export interface BenchCase {
  /** Name on the command line (`--cases`). */
  id: string;
  workload: Workload;
  /** Subscribed connections (the game workload: players in the room). */
  connections: number;
  /** Distinct `symbols` filters the connections are spread over; 1 means no filter. */
  shapes: number;
  /** Events published per second (the game: player actions per second). */
  rate: number;
  redis: boolean;
  servers: readonly ServerKind[];
}

const allServers = ['ws', 'yoga', 'realmcast'] as const;

/**
 * The default cases. Every market case offers about 10,000 messages a
 * second at N = 1,000 (with 50 shapes each event reaches half the
 * connections, so the rate is doubled), and N = 5,000 gets the issue's 10
 * events/s (50,000 messages/s).
 */
export const defaultCases: readonly BenchCase[] = [
  { id: '1k', workload: 'market', connections: 1_000, shapes: 1, rate: 10, redis: false, servers: allServers },
  { id: '5k', workload: 'market', connections: 5_000, shapes: 1, rate: 10, redis: false, servers: allServers },
  { id: '50-shapes', workload: 'market', connections: 1_000, shapes: 50, rate: 20, redis: false, servers: allServers },
  { id: 'redis-1k', workload: 'market', connections: 1_000, shapes: 1, rate: 10, redis: true, servers: allServers },
  // Three actions per player per turn (typing, choice, typing off): 12 per
  // second keeps each player under the typing limit of 5 calls per 5 s.
  { id: 'game', workload: 'game', connections: 12, shapes: 1, rate: 12, redis: false, servers: ['realmcast'] },
];

/** What the table calls a case, e.g. "50 shapes, N=1,000, Redis". */
export function caseTitle(c: BenchCase): string {
  if (c.workload === 'game') return `game room, ${c.connections} players`;
  return `${c.shapes > 1 ? `${c.shapes} shapes` : '1 shape'}, N=${c.connections.toLocaleString('en-US')}${c.redis ? ', Redis' : ''}`;
}

const tickFields = 'cursor symbol price at';
const allTicks = `subscription Ticks { stockTicked { ${tickFields} } }`;
const someTicks = `subscription Ticks($symbols: [String!]) { stockTicked(symbols: $symbols) { ${tickFields} } }`;

/** What a game client watches: every event with the fields a room UI shows (`at` first, the load generator reads the first one). */
const roomEvents = /* GraphQL */ `subscription Room($code: String!) {
  gameEvents(code: $code) {
    __typename cursor at
    ... on ChoiceSubmitted { player { id name } turnNumber choicesSubmitted totalPlayers allSubmitted waitingFor { id name } }
    ... on TurnResolved { turnNumber outcome choice { id label } votes { choice { id } count } }
    ... on ScenarioStarted { turnNumber scenario { id theme prompt choices { id label } } }
    ... on PlayerTyping { player { id name } typing }
  }
}`;
const roomPresence = 'subscription Presence($code: String!) { presence(code: $code) { onlineCount totalPlayers players { player { id name } online lastSeenAt } } }';

/** Every subset of `keys` with `size` members, in a stable order. */
function subsets(keys: readonly string[], size: number): string[][] {
  if (size === 0) return [[]];
  return keys.flatMap((key, i) => subsets(keys.slice(i + 1), size - 1).map((rest) => [key, ...rest]));
}

/**
 * `count` distinct symbol filters: the 2-symbol subsets first, then the
 * 3-symbol ones and so on (with six stocks: 15 + 20 + 15 = 50, each symbol in
 * exactly half of them).
 */
export function symbolFilters(keys: readonly string[], count: number): string[][] {
  const filters: string[][] = [];
  for (let size = 2; size < keys.length && filters.length < count; size++) filters.push(...subsets(keys, size));
  if (filters.length < count) throw new Error(`only ${filters.length} distinct filters of ${keys.length} symbols, ${count} wanted`);
  return filters.slice(0, count);
}

/** The load generator's connections for a case, against a server that reported `info`. */
export function connectionGroups(benchCase: BenchCase, info: ServerInfo): ConnectionGroup[] {
  if (benchCase.workload === 'game') {
    if (!info.game) throw new Error('the server reported no game room');
    const variables = { code: info.game.code };
    return info.game.tokens.map((token) => ({
      count: 1,
      connectionParams: { authToken: token },
      subscriptions: [
        { id: '1', query: roomEvents, variables },
        { id: '2', query: roomPresence, variables },
      ],
    }));
  }
  if (benchCase.shapes <= 1) return [{ count: benchCase.connections, subscriptions: [{ id: '1', query: allTicks }] }];
  const filters = symbolFilters(info.keys, benchCase.shapes);
  return filters.map((symbols, i) => ({
    count: Math.floor(benchCase.connections / filters.length) + (i < benchCase.connections % filters.length ? 1 : 0),
    subscriptions: [{ id: '1', query: someTicks, variables: { symbols } }],
    keys: symbols,
  }));
}
