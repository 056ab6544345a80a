/**
 * The documentation pages the doc tests read: the README, every page under
 * `docs/`, CONTRIBUTING.md and the client package's README. A page added to
 * `docs/` is picked up by itself, so its GraphQL blocks, commands and links
 * are checked like the others.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The repository root, as a URL ending in `/`. */
export const repositoryRoot = new URL('../..', import.meta.url);

/** One documentation page: its path from the repository root and its text. */
export interface DocPage {
  /** e.g. `docs/game-rooms.md`. */
  path: string;
  text: string;
}

/** Every documentation page, README.md first. */
export function docPages(): DocPage[] {
  const docs = readdirSync(new URL('docs/', repositoryRoot))
    .filter((name) => name.endsWith('.md'))
    .sort()
    .map((name) => `docs/${name}`);
  return ['README.md', ...docs, 'CONTRIBUTING.md', 'client/README.md'].map((path) => ({ path, text: readDoc(path) }));
}

/** The text of one page, by its path from the repository root. */
export function readDoc(path: string): string {
  return readFileSync(new URL(path, repositoryRoot), 'utf8');
}

/** The page holding `heading` (a whole markdown heading line, e.g. `## Errors`); fails when none or several do. */
export function pageWithHeading(heading: string): DocPage {
  const holding = docPages().filter((page) => page.text.split('\n').includes(heading));
  if (holding.length !== 1) throw new Error(`${holding.length} doc pages have the heading "${heading}": ${holding.map((p) => p.path).join(', ')}`);
  return holding[0]!;
}

/** An absolute file system path for a repository path. */
export const repositoryPath = (path: string) => fileURLToPath(new URL(path, repositoryRoot));
