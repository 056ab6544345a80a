/**
 * The bots' durable state: one JSON file, replaced atomically (written to a
 * temporary file, then renamed over the old one), so a crash at any moment
 * leaves either the previous state or the new one, never half a file.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Reads a JSON state file; `undefined` when it does not exist yet. */
export async function readJsonFile<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes `value` as JSON to `file` atomically, creating its folder when missing. */
export async function writeJsonFileAtomic(file: string, value: unknown): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, `${JSON.stringify(value, null, 2)}\n`);
  await rename(temporary, file); // atomic on POSIX file systems
}

/** Saves a state object on demand, one write at a time. */
export interface StateWriter {
  /**
   * Resolves once a write that started after this call has finished, so the
   * file then holds every change made before the call. Calls made while a
   * write is waiting to start share it.
   */
  save(): Promise<void>;
}

/**
 * A {@link StateWriter} for `file` that writes `snapshot()` when it saves.
 * Writes never overlap (two renames racing could put an older state last), and
 * a burst of changes costs one write per write in flight, not one per change.
 */
export function createStateWriter(file: string, snapshot: () => unknown): StateWriter {
  let last: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  return {
    save() {
      if (waiting) return waiting;
      const next = last.then(async () => {
        waiting = undefined; // changes made from now on need another write
        await writeJsonFileAtomic(file, snapshot());
      });
      waiting = next;
      last = next.catch(() => {}); // a failed write must not block the ones after it
      return next;
    },
  };
}
