import { builder } from '../builder.js';
import './scalars.js';
import './players.js';
import './market.js';
import './portfolio.js';
import './factions.js';
import './world.js';
import './games.js';
import './presence.js';

/** The Realmcast schema: every domain file above adds its types and root fields. */
export const schema = builder.toSchema();
