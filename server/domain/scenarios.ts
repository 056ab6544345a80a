/**
 * The scenario deck: the dilemmas put to a game's players, each choice with
 * its effects, and which scenario a game's turn draws. Tallying a turn and
 * applying the winner's effects are in `turns.ts`.
 */
import type { ScenarioRef } from '../events/topics.js';

/** Shifts one faction's influence by `delta` points when a choice wins. */
export interface InfluenceShift {
  factionId: string;
  delta: number;
}

/** Nudges one stock's price by `percent` % when a choice wins. */
export interface PriceNudge {
  symbol: string;
  percent: number;
}

/** One option of a scenario, with what happens when it wins the vote. */
export interface ScenarioChoice {
  /** Unique across the deck (`<scenario>.<slug>`), so a choice id names its scenario. */
  id: string;
  label: string;
  /** The outcome recorded when this choice wins. */
  outcome: string;
  influence: InfluenceShift[];
  prices: PriceNudge[];
}

/** A dilemma put to a game's players for one turn. */
export interface Scenario {
  id: string;
  theme: string;
  prompt: string;
  /** 2–4 choices, in the order ties are broken by. */
  choices: ScenarioChoice[];
}

const choice = (
  scenario: string,
  slug: string,
  label: string,
  outcome: string,
  influence: Record<string, number>,
  prices: Record<string, number>,
): ScenarioChoice => ({
  id: `${scenario}.${slug}`,
  label,
  outcome,
  influence: Object.entries(influence).map(([factionId, delta]) => ({ factionId, delta })),
  prices: Object.entries(prices).map(([symbol, percent]) => ({ symbol, percent })),
});

/**
 * The built-in deck. Every choice moves at least one faction and one stock
 * (factions and symbols of the seeded world), so each resolved turn is felt
 * on the `factionInfluenceChanged` and `stockTicked` feeds. Never reuse an id
 * for a different scenario or choice: stored events refer to them.
 */
export const scenarioDeck: readonly Scenario[] = [
  {
    id: 'betrayal',
    theme: 'Betrayal',
    prompt: "A letter in the Chancellor's hand promises the northern forts to a rival throne. The court waits for your word.",
    choices: [
      choice('betrayal', 'expose', 'Expose the Chancellor before the court', 'The Chancellor is unmasked and hanged; the Crown tightens its grip.', { crown: 8, guild: -3 }, { GOLD: 3, SHIP: -2 }),
      choice('betrayal', 'turn', 'Turn the traitor into a double agent', 'The traitor now feeds the rival throne lies; the Free Companies sell the secret twice.', { free: 5, crown: -2 }, { AETH: 4 }),
      choice('betrayal', 'bury', 'Burn the letter and say nothing', 'The letter burns; whispers spread through the guild halls anyway.', { guild: 4, crown: -6 }, { GOLD: -3, SPICE: 2 }),
    ],
  },
  {
    id: 'plague',
    theme: 'Plague',
    prompt: 'Grey fever spreads through the river wards. The healers ask for the harbour to be closed.',
    choices: [
      choice('plague', 'quarantine', 'Close the harbour and quarantine the wards', 'The harbour chains are raised; the fever burns out, and so does trade.', { crown: 4, guild: -6 }, { SHIP: -8, GRAIN: 5 }),
      choice('plague', 'pray', 'Let the Order of the Flame lead the prayers', 'Pyres of incense line the streets; the faithful multiply.', { flame: 9, crown: -3 }, { SPICE: 4, GRAIN: -3 }),
      choice('plague', 'ignore', 'Keep the harbour open', 'Ships keep sailing, and the fever sails with them.', { guild: 5, free: -4 }, { SHIP: 4, GRAIN: -6 }),
    ],
  },
  {
    id: 'trade-war',
    theme: 'Trade war',
    prompt: 'The Southern Spice Guild doubles its tariffs on northern iron. The Merchant Guild demands retaliation.',
    choices: [
      choice('trade-war', 'retaliate', 'Match the tariffs, coin for coin', 'Tariff walls rise on both shores; smugglers grow rich.', { guild: 6, free: 3 }, { SPICE: -7, IRON: -4 }),
      choice('trade-war', 'negotiate', 'Send envoys to negotiate', 'A treaty is signed over spiced wine; the merchants grumble but trade resumes.', { crown: 3, guild: -2 }, { SPICE: 5, SHIP: 3 }),
      choice('trade-war', 'embargo', 'Embargo all southern goods', 'Southern ships rot at anchor; the Crown seizes their cargo.', { crown: 5, guild: -7 }, { SPICE: -10, GOLD: 2 }),
      choice('trade-war', 'smuggle', 'Quietly license the smugglers', 'The Free Companies run spice by night and take their cut.', { free: 7, crown: -3 }, { SPICE: 3, SHIP: 4 }),
    ],
  },
  {
    id: 'succession',
    theme: 'Succession',
    prompt: 'The old king is dying without a named heir. Two cousins gather banners.',
    choices: [
      choice('succession', 'elder', 'Back the elder cousin and the old laws', 'The elder cousin is crowned; the old laws hold.', { crown: 7, free: -3 }, { GOLD: 4 }),
      choice('succession', 'younger', 'Back the younger cousin and the guilds', 'The guilds buy a crown for the younger cousin.', { guild: 8, crown: -4 }, { GOLD: -2, IRON: 3 }),
      choice('succession', 'council', 'Call a regency council', 'A regency council rules by committee and by compromise.', { crown: -2, guild: 2, flame: 2 }, { GRAIN: 2 }),
    ],
  },
  {
    id: 'dragon',
    theme: 'Dragon sighting',
    prompt: 'Shepherds swear a dragon nests above the Ironforge mines. The miners refuse to go down.',
    choices: [
      choice('dragon', 'slay', 'Hire the Free Companies to slay it', 'The sellswords return with a scale the size of a shield, and a bill to match.', { free: 9, crown: -2 }, { IRON: 6, GOLD: -3 }),
      choice('dragon', 'bargain', 'Offer the dragon tribute', "The dragon takes its gold and lets the mines work. The bank's vaults echo.", { guild: 3, flame: -3 }, { GOLD: -8, IRON: 4 }),
      choice('dragon', 'abandon', 'Seal the mines and wait', 'The mines fall silent; iron is worth its weight in silver.', { free: -3, crown: -2 }, { IRON: 12, AETH: -3 }),
    ],
  },
  {
    id: 'famine',
    theme: 'Famine',
    prompt: 'Blight has taken half the harvest. Bread riots have started in the lower city.',
    choices: [
      choice('famine', 'ration', 'Ration the royal granaries', 'Bread lines stretch for miles, but the city eats.', { crown: 5, guild: -2 }, { GRAIN: 8 }),
      choice('famine', 'import', 'Import grain by sea at any price', 'Grain ships arrive from the south; the treasury bleeds.', { guild: 5, crown: -2 }, { SHIP: 6, GOLD: -3, GRAIN: -4 }),
      choice('famine', 'crush', 'Crush the riots', 'The riots end in blood; the Free Companies count their wages.', { free: 6, flame: -4 }, { GRAIN: 5, SPICE: -2 }),
    ],
  },
  {
    id: 'heresy',
    theme: 'Heresy',
    prompt: 'A preacher claims the Flame has gone out in the high temple. Crowds follow him.',
    choices: [
      choice('heresy', 'burn', 'Let the Order try him for heresy', 'The preacher burns; the Order of the Flame burns brighter.', { flame: 8, free: -3 }, { SPICE: -2, AETH: -3 }),
      choice('heresy', 'tolerate', 'Let him preach', 'New chapels open in the market squares; tithes fall.', { flame: -6, guild: 3 }, { AETH: 3 }),
      choice('heresy', 'exile', 'Exile him quietly', 'The preacher sails away, and his followers fall silent.', { crown: 3, flame: 2 }, { SHIP: 2 }),
    ],
  },
  {
    id: 'rebellion',
    theme: 'Rebellion',
    prompt: 'The Free Companies have not been paid in three months. Their captains speak of taking payment themselves.',
    choices: [
      choice('rebellion', 'pay', 'Pay them from the treasury', 'The captains are paid in full; the treasury is not.', { free: 5, crown: -2 }, { GOLD: -5 }),
      choice('rebellion', 'disband', 'Disband the companies', 'The companies scatter into the hills as bandits.', { free: -8, crown: 4 }, { SHIP: -4, GRAIN: -3 }),
      choice('rebellion', 'war', 'Send them to war abroad', 'The companies march south to loot a richer kingdom.', { free: 4, guild: 2 }, { IRON: 5, SPICE: -3 }),
    ],
  },
  {
    id: 'aether',
    theme: 'Arcane discovery',
    prompt: 'Aether Works claims to have bottled lightning. The Order of the Flame calls it sorcery.',
    choices: [
      choice('aether', 'fund', 'Fund the experiments', 'Lightning lamps light the capital; the Order fumes.', { guild: 4, flame: -5 }, { AETH: 10, IRON: 2 }),
      choice('aether', 'ban', 'Ban the work as sorcery', 'The workshops are sealed by decree of the Flame.', { flame: 6, guild: -4 }, { AETH: -12 }),
      choice('aether', 'seize', 'Seize the workshops for the Crown', 'Royal guards escort the bottled lightning to the palace.', { crown: 6, guild: -3 }, { AETH: -4, GOLD: 3 }),
    ],
  },
  {
    id: 'flood',
    theme: 'Flood',
    prompt: 'Spring floods have burst the river dykes. The Riverlands are under water.',
    choices: [
      choice('flood', 'rebuild', 'Rebuild the dykes with royal coin', 'New dykes rise, stone by expensive stone.', { crown: 4 }, { GRAIN: 4, GOLD: -2 }),
      choice('flood', 'canals', 'Let the guild dig canals and charge tolls', 'Toll canals criss-cross the Riverlands; barges replace carts.', { guild: 6, free: -2 }, { SHIP: 5, GRAIN: -2 }),
    ],
  },
];

const byScenarioId = new Map(scenarioDeck.map((s) => [s.id, s]));
const byChoiceId = new Map(scenarioDeck.flatMap((s) => s.choices.map((c) => [c.id, c] as const)));

/** A scenario of the deck by id (undefined for ids of a retired scenario). */
export const scenarioById = (id: string): Scenario | undefined => byScenarioId.get(id);

/** A choice of the deck by id (undefined for ids of a retired choice). */
export const choiceById = (id: string): ScenarioChoice | undefined => byChoiceId.get(id);

/**
 * The scenario of `turn` in game `code`: FNV-1a of `code:turn` picks from the
 * deck, so every instance (and every replay) draws the same one without
 * storing the deck order.
 */
export function drawScenario(code: string, turn: number): Scenario {
  let hash = 0x811c9dc5;
  for (const char of `${code}:${turn}`) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return scenarioDeck[hash % scenarioDeck.length]!;
}

/** The scenario as carried inside events (no effects: those stay in the deck). */
export const scenarioRef = (scenario: Scenario): ScenarioRef => ({
  id: scenario.id,
  theme: scenario.theme,
  prompt: scenario.prompt,
  choices: scenario.choices.map((c) => ({ id: c.id, label: c.label })),
});
