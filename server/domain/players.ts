import { randomUUID } from 'node:crypto';
import type { Role } from '../auth.js';
import type { Store } from '../store/store.js';
import { validName } from './validate.js';

export interface PlayerRow {
  id: string;
  name: string;
  role: string;
}

export type Players = ReturnType<typeof createPlayers>;

/** Player records; no GraphQL in here. */
export function createPlayers({ store }: { store: Store }) {
  return {
    /** Creates a player with a fresh id. */
    async create(nameInput: string, role: Role): Promise<PlayerRow> {
      const player = { id: randomUUID(), name: validName('name', nameInput), role };
      await store.db.insertInto('players').values({ ...player, createdAt: new Date().toISOString() }).execute();
      return player;
    },
  };
}
