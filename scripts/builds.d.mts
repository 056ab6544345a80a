/** Types of `scripts/builds.mjs` (plain JavaScript: it runs before anything is compiled). */
export type BuildName = 'server' | 'dashboard';
/** Builds each of `names` that is missing or older than its sources. */
export function ensureBuilt(names: readonly BuildName[]): void;
